"""`childsafe banks …` and `childsafe match`: the user journey end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Run = Any


def _import_demo(run: Run, samples: Path) -> None:
    res = run("banks", "import", "demo", str(samples / "demo-bank.csv"), "--json")
    assert res.code == 0, res.err
    (row,) = res.jsonl()
    assert row["added"] == 6 and row["version"] >= 1


def test_match_finds_altered_copies_and_not_unrelated(run: Run, samples: Path) -> None:
    _import_demo(run, samples)
    res = run("match", str(samples / "images"), "--bank", "demo", "--json")
    assert res.code == 1, res.err
    rows = {Path(str(r["path"])).name: r for r in res.jsonl()}
    assert len(rows) == 7
    exact = {m["hash_type"] for m in rows["astronaut_copy.jpg"]["matches"]}  # type: ignore[union-attr]
    assert {"md5", "pdq"} <= exact
    for name in ("coffee_mirrored.jpg", "rocket_letterboxed.jpg"):
        ms = rows[name]["matches"]
        assert ms and all(m["hash_type"] == "pdq" and m["distance"] <= 31 for m in ms), name  # type: ignore[index,union-attr]
        assert ms[0]["label"] == "demo-benign"  # type: ignore[index]
        assert set(ms[0]) == {"bank", "hash_type", "value", "distance", "entry_id", "label"}  # type: ignore[index]
    for name in ("chelsea.jpg", "camera.webp", "notes.txt"):
        assert rows[name]["matches"] == [] and rows[name]["error"] is None, name
    assert rows["broken.jpg"]["error"]


def test_exit_codes(run: Run, samples: Path) -> None:
    _import_demo(run, samples)
    assert run("match", str(samples / "images" / "chelsea.jpg")).code == 0
    assert run("match", str(samples / "images" / "astronaut_copy.jpg")).code == 1
    assert run("match", str(samples / "images" / "broken.jpg")).code == 3
    assert run("match", str(samples / "images"), "--bank", "no-such-bank").code == 4


def test_match_by_hash_and_allow_list(run: Run, samples: Path) -> None:
    _import_demo(run, samples)
    pdq = next(
        line.split(",")[1]
        for line in (samples / "demo-bank.csv").read_text().splitlines()
        if line.startswith("pdq,")
    )
    res = run("match", "--hash", f"pdq:{pdq}", "--json")
    assert res.code == 1
    (row,) = res.jsonl()
    assert row["matches"][0]["distance"] == 0  # type: ignore[index]
    flipped_bit = f"{int(pdq[0], 16) ^ 1:x}" + pdq[1:]
    assert run("match", "--hash", f"pdq:{flipped_bit}").code == 1
    allow = run("banks", "allow", "demo", f"pdq:{pdq}", "--reason", "test: benign")
    assert allow.code == 0, allow.err
    assert run("match", "--hash", f"pdq:{pdq}").code == 0


def test_malformed_hash_is_a_usage_error(run: Run) -> None:
    res = run("match", "--hash", "pdq:xyz")
    assert res.code == 2
    assert "pdq" in res.err


def test_bad_bank_file_fails_whole_import_with_line_number(run: Run, tmp_path: Path) -> None:
    good = "a" * 64
    f = tmp_path / "list.txt"
    f.write_text(f"{good}\n{'b' * 64}\nnot-a-hash\n", encoding="utf-8")
    res = run("banks", "import", "x", str(f), "--type", "pdq")
    assert res.code == 4
    assert ":3" in res.err or "line 3" in res.err
    listed = run("banks", "list", "--json").jsonl()
    assert all(b["entry_count"] == 0 for b in listed if b["name"] == "x")


def test_list_show_export_remove(run: Run, samples: Path, tmp_path: Path) -> None:
    _import_demo(run, samples)
    (bank,) = run("banks", "list", "--json").jsonl()
    assert bank["name"] == "demo" and bank["entry_count"] == 6
    show = run("banks", "show", "demo", "--json").jsonl()[0]
    assert show["by_type"] == {"pdq": 3, "md5": 3}
    out = tmp_path / "export.csv"
    assert run("banks", "export", "demo", str(out)).code == 0
    again = run("banks", "import", "copy", str(out), "--json").jsonl()[0]
    assert again["added"] == 6
    dup = run("banks", "import", "copy", str(out), "--json").jsonl()[0]
    assert dup["added"] == 0 and dup["duplicates"] == 6
    md5 = next(
        line.split(",")[1]
        for line in (samples / "demo-bank.csv").read_text().splitlines()
        if line.startswith("md5,")
    )
    assert run("banks", "remove", "copy", "--hash", f"md5:{md5}").code == 0
    assert run("banks", "show", "copy", "--json").jsonl()[0]["entry_count"] == 5
    assert run("banks", "remove", "copy", "--yes").code == 0
    assert [b["name"] for b in run("banks", "list", "--json").jsonl()] == ["demo"]
