"""The numba caption digest gives exactly ``hashlib.sha256(...).hexdigest()`` per cell."""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pytest

from childsafe.readers._sha256 import sha256_hex

# Every padding case: the 0x80 and the 8-byte length in the same block, split over two
# blocks, a message ending exactly on a block boundary, and several blocks.
LENGTHS = [0, 1, 3, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300, 1000]


def cells(rnd: random.Random, n: int) -> list[bytes | None]:
    out: list[bytes | None] = [rnd.randbytes(k) for k in LENGTHS]
    for _ in range(n):
        out.append(None if rnd.random() < 0.05 else rnd.randbytes(rnd.choice([20, 60, 200])))
    rnd.shuffle(out)  # mixed lengths in every group of lanes
    return out


def expected(values: list[bytes | None]) -> list[str | None]:
    return [None if v is None else hashlib.sha256(v).hexdigest() for v in values]


@pytest.mark.parametrize("typ", [pa.binary(), pa.large_binary()])
def test_digests_equal_hashlib(typ: pa.DataType) -> None:
    values = cells(random.Random(1), 700)
    arr = pa.array(values, typ)
    got = sha256_hex(arr)
    assert got.type == pa.string()
    assert got.to_pylist() == expected(values)
    assert sha256_hex(arr.slice(13, 400)).to_pylist() == expected(values[13:413])


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_strings_are_hashed_as_their_utf8_bytes(typ: pa.DataType) -> None:
    values = ["é", "", None, "a photo of a cat", "猫" * 40]
    got = sha256_hex(pa.array(values, typ)).to_pylist()
    assert got == expected([None if v is None else v.encode() for v in values])


def test_edge_columns() -> None:
    assert sha256_hex(pa.array([], pa.binary())).to_pylist() == []
    assert sha256_hex(pa.array([None, None], pa.binary())).to_pylist() == [None, None]
    same = [b"x" * 10] * 40  # one length everywhere: no sort at all
    assert sha256_hex(pa.array(same)).to_pylist() == expected(list(same))
    with pytest.raises(TypeError, match="binary or string"):
        sha256_hex(pa.array([1, 2]))
