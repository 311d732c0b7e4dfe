"""What the Matcher needs from a saved ``VPDQIndex``: entry values, ``extra``, empty indexes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from childsafe.errors import IndexError_
from childsafe.hashing.vpdq import VPDQFrame, format_vpdq
from childsafe.matching._persist import read_index_dir, write_index_dir
from childsafe.matching.vpdq_index import VPDQIndex


def video(n: int, seed: int, quality: int = 100) -> str:
    rng = random.Random(seed)
    frames = [VPDQFrame(rng.randbytes(32).hex(), quality, float(i)) for i in range(n)]
    return format_vpdq(frames + frames[:1])  # a repeated frame: the value keeps it


def test_values_and_extra_round_trip(tmp_path: Path) -> None:
    values = {3: video(4, 1), 9: video(2, 2, quality=10), 5: video(5, 3)}
    index = VPDQIndex.build(list(values.values()), list(values))
    index.remove([5])
    index.save(tmp_path / "idx", extra={"bank": "a", "bank_version": 7})
    loaded = VPDQIndex.load(tmp_path / "idx")
    assert loaded.extra == {"bank": "a", "bank_version": 7}
    assert {e: loaded.value(e) for e in (3, 9)} == {3: values[3], 9: values[9]}
    with pytest.raises(KeyError):
        loaded.value(5)
    assert loaded.query([values[3]]) == [[(3, 0)]]


def test_empty_index_round_trips(tmp_path: Path) -> None:
    VPDQIndex().save(tmp_path / "idx", extra={"bank_version": 0})
    loaded = VPDQIndex.load(tmp_path / "idx")
    assert len(loaded) == 0 and loaded.extra == {"bank_version": 0}
    assert loaded.query([video(3, 4)]) == [[]]


def test_values_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    """Checksums catch damaged files; this is a well-formed save whose values do not fit."""
    VPDQIndex.build([video(3, 5), video(2, 6)], [1, 2]).save(tmp_path / "idx")
    entries = tmp_path / "idx" / "entries"
    names = ("entry_ids", "entry_lengths", "entry_frames", "value_lengths", "values")
    arrays, meta = read_index_dir(entries, "childsafe-vpdq-entries", names)
    arrays = {**arrays, "value_lengths": arrays["value_lengths"].sum(keepdims=True)}
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "files")}
    write_index_dir(entries, "childsafe-vpdq-entries", arrays, meta)
    with pytest.raises(IndexError_, match="values do not fit"):
        VPDQIndex.load(tmp_path / "idx")
