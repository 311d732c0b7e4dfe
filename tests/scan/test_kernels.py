"""The fast path's hash-cell kernel and the buffer helper, against plain Python."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from childsafe.scan._kernels import blake2b64, hex_keys, string_buffers


def reference(values: list[str | None], nhex: int) -> tuple[list[bool], list[bool], list[bytes]]:
    """present: non-null and non-empty; ok: canonical (lower-case hex, exact length)."""
    present = [bool(v) for v in values]
    ok = [
        v is not None and len(v.encode()) == nhex and all(c in "0123456789abcdef" for c in v)
        for v in values
    ]
    keys = [bytes.fromhex(v) for v, good in zip(values, ok, strict=True) if good and v]
    return present, ok, keys


def cells(rnd: random.Random, nhex: int, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        good = rnd.randbytes(nhex // 2).hex()
        odd = [None, "", good.upper(), good[:-1], good + "a", " " + good[1:], "é" * (nhex // 2)]
        odd += [good[:5] + "g" + good[6:], good[:-1] + ":", good[:-1] + "`", good[:-1] + "/"]
        out.append(rnd.choice([good, good, good, *odd]))
    return out


@pytest.mark.parametrize("nhex", [32, 40, 64])
@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_hex_keys_match_the_reference(nhex: int, typ: pa.DataType) -> None:
    values = cells(random.Random(nhex), nhex, 3000)
    arr = pa.array(values, typ)
    for a, vals in ((arr, values), (arr.slice(11, 1500), values[11:1511])):
        present, ok, keys = hex_keys(a, nhex)
        want_present, want_ok, want_keys = reference(vals, nhex)
        assert present.tolist() == want_present
        assert ok.tolist() == want_ok
        assert [bytes(k) for k in keys] == want_keys
        checked = hex_keys(a, nhex, decode=False)  # a type no bank holds: checked only
        assert checked[0].tolist() == want_present and checked[1].tolist() == want_ok
        assert checked[2].shape == (0, nhex // 2)


def test_hex_keys_of_an_all_null_column() -> None:
    present, ok, keys = hex_keys(pa.nulls(5, pa.string()), 32)
    assert not present.any() and not ok.any() and keys.shape == (0, 16)


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string(), pa.binary()])
def test_string_buffers_keep_the_offsets_width_and_the_slice(typ: pa.DataType) -> None:
    values = [f"id-{i}é" if i % 7 else None for i in range(100)]
    arr = pa.array(values, typ).slice(5, 50)
    offsets, data = string_buffers(arr)
    assert offsets.dtype == (np.int64 if "large" in str(typ) else np.int32)
    for i, v in enumerate(values[5:55]):
        cell = bytes(data[offsets[i] : offsets[i + 1]])
        assert cell == (b"" if v is None else v.encode())
    narrow = blake2b64(*string_buffers(pa.array(["a", "bc"], pa.string())), b"k")
    wide = blake2b64(*string_buffers(pa.array(["a", "bc"], pa.large_string())), b"k")
    assert narrow.tolist() == wide.tolist()
