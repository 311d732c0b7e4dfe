"""The numba hash-cell pass gives exactly what the Arrow regex pipeline it replaced gave."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from childsafe.errors import HashFormatError
from childsafe.hashing.formats import HEX_LENGTHS, canonical
from childsafe.readers._columns import _WS, _check_hashes, text


def reference(htype: str, column: str, arr: pa.Array, errors: dict[int, str]) -> pa.Array:
    """The previous ``_check_hashes``: trim, lower, regex, then ``canonical`` for the rest."""
    values = text(arr)
    v = pc.ascii_lower(pc.utf8_trim(values, characters=_WS))
    ok = pc.fill_null(pc.match_substring_regex(v, f"^[0-9a-f]{{{HEX_LENGTHS[htype]}}}$"), False)
    present = pc.fill_null(
        pc.greater(pc.utf8_length(pc.utf8_trim(values, characters=_WS)), 0), False
    )
    slow = np.flatnonzero(pc.and_(present, pc.invert(ok)).to_numpy(zero_copy_only=False))
    fast = pc.if_else(ok, v, pa.scalar(None, pa.string()))
    if not len(slow):
        return fast
    out: list[str | None] = fast.to_pylist()
    for i in map(int, slow):
        try:
            out[i] = canonical(htype, values[i].as_py())
        except HashFormatError as exc:
            msg = f"column {column!r}: {exc}"
            errors[i] = f"{errors[i]}; {msg}" if i in errors else msg
    return pa.array(out, pa.string())


def cells(rnd: random.Random, nhex: int, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.1:
            out.append(None)
        elif r < 0.2:
            out.append(rnd.choice(["", " ", "\t\n"]))
        elif r < 0.6:
            out.append("".join(rnd.choice("0123456789abcdef") for _ in range(nhex)))
        elif r < 0.8:
            digits = "".join(rnd.choice("0123456789abcdefABCDEF") for _ in range(nhex))
            out.append(rnd.choice(["", " ", "\t", "\x0b"]) + digits + rnd.choice(["", "\n", " "]))
        else:
            alpha = "0123456789abcdefABCDEF gé\x0c:"
            size = rnd.choice([nhex, nhex - 1, nhex + 1, 3])
            out.append("".join(rnd.choice(alpha) for _ in range(size)))
    return out


@pytest.mark.parametrize("htype", ["md5", "sha1", "sha256", "pdq", "video_md5"])
def test_hex_pass_matches_the_regex_pipeline(htype: str) -> None:
    rnd = random.Random(htype)
    arr = pa.array(cells(rnd, HEX_LENGTHS[htype], 3000), pa.string())
    for a in (arr, arr.slice(17, 2000), pa.array(["0" * HEX_LENGTHS[htype]] * 5)):
        want_errors: dict[int, str] = {}
        got_errors: dict[int, str] = {}
        want = reference(htype, "c", a, want_errors)
        got = _check_hashes(htype, "c", a, got_errors)
        assert got.equals(want)
        assert got_errors == want_errors


@pytest.mark.parametrize("htype", ["md5", "sha256"])
def test_canonical_column_is_passed_on_uncopied_and_others_are_not(htype: str) -> None:
    rnd = random.Random(9)
    good = [
        "".join(rnd.choice("0123456789abcdef") for _ in range(HEX_LENGTHS[htype]))
        for _ in range(50)
    ]
    arr = pa.array([*good, None], pa.string())
    errors: dict[int, str] = {}
    assert _check_hashes(htype, "c", arr, errors) is arr and not errors
    # One cell off canonical (upper case, padded, white space only) and the column is rebuilt.
    for odd in (good[0].upper(), f" {good[0]}", "  "):
        varied = pa.array([odd, *good[1:]], pa.string())
        want = reference(htype, "c", varied, {})
        got = _check_hashes(htype, "c", varied, {})
        assert got is not varied and got.equals(want)
