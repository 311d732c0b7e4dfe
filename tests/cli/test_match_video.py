"""Videos end to end: `childsafe hash` -> a JSONL bank -> `childsafe match` on a re-encoded copy.

The videos are generated (a pan across a scikit-image photo) with the helpers of
``tests/content/conftest.py``; a re-encode to another codec, size and bit rate changes every
byte (so md5 and video_md5 miss) but not what vPDQ sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.content.conftest import WEBM_CODEC, panned, photo, reencode, write_video

from childsafe.cli.match_cmd import _wanted
from childsafe.hashing.vpdq import VPDQHasher

Run = Any


def _hashes(run: Run, path: Path) -> dict[str, Any]:
    res = run("hash", str(path), "--json")
    assert res.code == 0, res.err
    (row,) = res.jsonl()
    assert isinstance(row["vpdq"], str) and isinstance(row["video_md5"], str), row
    return dict(row)


def test_reencoded_copy_matches_by_vpdq(run: Run, tmp_path: Path) -> None:
    original = write_video(tmp_path / "original.mp4", panned(photo("astronaut"), 40))
    copy = reencode(
        original, tmp_path / "copy.webm", codec=WEBM_CODEC, bit_rate=90_000, size=(200, 150)
    )
    other = write_video(tmp_path / "other.mp4", panned(photo("coffee"), 40))
    known = _hashes(run, original)
    bank = tmp_path / "videos.jsonl"
    lines = [
        {"hash_type": t, "value": known[t], "label": "test-benign"} for t in ("vpdq", "video_md5")
    ]
    bank.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    imported = run("banks", "import", "videos", str(bank), "--json")
    assert imported.code == 0, imported.err
    assert imported.jsonl()[0]["added"] == 2

    res = run("match", str(copy), "--json")
    assert res.code == 1, res.err
    (row,) = res.jsonl()
    assert row["error"] is None
    (m,) = row["matches"]
    assert (m["bank"], m["hash_type"], m["value"], m["label"]) == (
        "videos", "vpdq", known["vpdq"], "test-benign"
    )  # fmt: skip
    want = VPDQHasher().distance(_hashes(run, copy)["vpdq"], known["vpdq"])
    assert m["distance"] == want <= 20

    # The original itself: the same file (video_md5) and the same frames (vpdq distance 0).
    same = run("match", str(original), "--json").jsonl()[0]["matches"]
    assert sorted((m["hash_type"], m["distance"]) for m in same) == [("video_md5", 0), ("vpdq", 0)]

    human = run("match", str(copy))
    assert human.code == 1 and "bank=videos vpdq distance=" in human.out
    unrelated = run("match", str(other), "--json")
    assert unrelated.code == 0, unrelated.err
    assert unrelated.jsonl()[0]["matches"] == []


def test_only_hash_types_some_bank_holds_are_computed() -> None:
    """No bank with vPDQ entries: no video is decoded for nothing (md5 still reads files)."""
    assert _wanted(frozenset({"vpdq", "md5", "other"})) == ("md5", "vpdq")
    assert _wanted(frozenset({"pdq"})) == ("pdq",)
    assert _wanted(frozenset()) == ("md5",)
