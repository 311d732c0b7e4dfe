"""`childsafe hash`: the JSON Lines contract scripts rely on, and bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

Run = Any

KEYS = {"path", "md5", "sha1", "sha256", "pdq", "pdq_quality", "error"}


def test_json_contract_on_samples(run: Run, samples: Path) -> None:
    res = run("hash", str(samples / "images"), "--json")
    assert res.code == 3, res.err  # broken.jpg is broken on purpose
    rows = {Path(str(r["path"])).name: r for r in res.jsonl()}
    assert set(rows) == {p.name for p in (samples / "images").iterdir()}
    for row in rows.values():
        assert set(row) >= KEYS
    good = rows["astronaut_copy.jpg"]
    data = (samples / "images" / "astronaut_copy.jpg").read_bytes()
    assert good["md5"] == hashlib.md5(data).hexdigest()
    assert good["sha1"] == hashlib.sha1(data).hexdigest()
    assert good["sha256"] == hashlib.sha256(data).hexdigest()
    assert isinstance(good["pdq"], str) and len(good["pdq"]) == 64
    assert isinstance(good["pdq_quality"], int) and good["pdq_quality"] >= 50
    assert good["error"] is None
    text = rows["notes.txt"]
    assert text["pdq"] is None and text["pdq_quality"] is None and text["error"] is None
    assert text["md5"] is not None
    broken = rows["broken.jpg"]
    assert broken["pdq"] is None
    assert "broken.jpg" in str(broken["error"])


def test_missing_path_is_reported_not_raised(run: Run, tmp_path: Path) -> None:
    res = run("hash", str(tmp_path / "nope.jpg"), "--json")
    assert res.code == 3
    (row,) = res.jsonl()
    assert row["md5"] is None
    assert "nope.jpg" in str(row["error"])


def test_zero_byte_and_unicode_names(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "fichier été 写真.txt").write_text("hello", encoding="utf-8")
    res = run("hash", str(tmp_path), "--json")
    rows = {Path(str(r["path"])).name: r for r in res.jsonl()}
    assert rows["fichier été 写真.txt"]["md5"] == hashlib.md5(b"hello").hexdigest()
    assert rows["empty.jpg"]["error"]


def test_human_output_names_hashes(run: Run, samples: Path) -> None:
    res = run("hash", str(samples / "images" / "chelsea.jpg"))
    assert res.code == 0
    assert "pdq" in res.out and "quality" in res.out
