"""``childsafe classify`` and ``childsafe eval`` through the real CLI with the real models.

Texts are the mildest wording that exercises the detector, never explicit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Run = Any

BENIGN = "help my 9 year old with fractions homework"
RISKY = "nsfw picture of a 12 year old"


def _by_classifier(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["classifier"]: r for r in record["results"]}


def test_benign_text_is_not_flagged(run: Run) -> None:
    res = run("classify", "--text", BENIGN, "--json")
    assert res.code == 0, res.err
    [rec] = res.jsonl()
    assert rec["id"] == "text:1" and rec["kind"] == "text" and rec["flagged"] == []
    result = _by_classifier(rec)["text_risk"]
    assert result["error"] is None and result["scores"]["risk"] < result["thresholds"]["risk"]
    assert result["model"]["licence"]


def test_risky_text_is_flagged_with_evidence_and_exit_1(run: Run) -> None:
    res = run("classify", "--text", BENIGN, "--text", RISKY, "--json")
    assert res.code == 1, res.err
    benign, risky = res.jsonl()
    assert benign["flagged"] == [] and "text_risk:risk" in risky["flagged"]
    assert risky["priority"] == "high"
    spans = [RISKY[e["start"] : e["end"]] for e in _by_classifier(risky)["text_risk"]["evidence"]
             if "start" in e]  # fmt: skip
    assert any("12" in s for s in spans) and any("nsfw" in s.lower() for s in spans)


def test_human_output_names_flags_and_evidence(run: Run) -> None:
    res = run("classify", "--text", RISKY)
    assert res.code == 1
    assert "FLAGGED" in res.out and "text_risk:risk" in res.out and "priority=high" in res.out


def test_text_file_lines_with_empty_and_garbage(run: Run, tmp_path: Path) -> None:
    f = tmp_path / "prompts.txt"
    f.write_bytes(b"a cat on a sofa\n\n\xff\xfe\x00garbage\xc3\n" + BENIGN.encode() + b"\n")
    res = run("classify", "--text-file", str(f), "--json")
    recs = res.jsonl()
    assert [r["id"] for r in recs] == [f"{f}:{n}" for n in (1, 2, 3, 4)]
    assert recs[1]["error"] and "empty" in recs[1]["error"]
    assert recs[2]["error"] is None  # undecodable bytes are replaced, then scored
    assert res.code == 3  # nothing flagged, one line could not be scored


def test_images_and_a_corrupt_one(run: Run, samples: Path) -> None:
    images = samples / "images"
    res = run("classify", str(images / "astronaut_copy.jpg"), str(images / "broken.jpg"), "--json")
    assert res.code == 3, res.err
    good, bad = res.jsonl()
    risk = _by_classifier(good)["image_risk"]
    assert risk["error"] is None and risk["scores"]["nsfw"] < 0.2 and good["flagged"] == []
    assert bad["error"] and "broken.jpg" in bad["error"]


def test_usage_errors(run: Run, tmp_path: Path) -> None:
    assert run("classify").code == 2
    res = run("classify", "--text", "x", "--classifier", "no_such")
    assert res.code == 2 and "no_such" in res.err
    res = run("classify", "--text", "x", "--threshold", "nsfw.nsfw=0.5")
    assert res.code == 2 and "not among the classifiers" in res.err
    res = run("classify", "--text", "x", "--threshold", "text_risk.risk=high")
    assert res.code == 2 and "not a number" in res.err
    res = run("classify", str(tmp_path / "missing.jpg"))
    assert res.code == 2 and "no such file" in res.err


def test_threshold_override_changes_the_flag(run: Run) -> None:
    res = run("classify", "--text", BENIGN, "--threshold", "text_risk.risk=0", "--json")
    assert res.code == 1
    assert "text_risk:risk" in res.jsonl()[0]["flagged"]


def test_conversation_file(run: Run, tmp_path: Path) -> None:
    lines = [
        {"conversation_id": "c1", "sender": "a", "recipient": "b", "text": "hey, good game"},
        {"conversation_id": "c1", "sender": "b", "recipient": "a", "text": "thanks!"},
        "not json at all",
    ]
    f = tmp_path / "chat.jsonl"
    f.write_text("\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n")
    res = run("classify", "--conversation", str(f), "--json")
    [report] = res.jsonl()
    assert report["source"] == str(f)
    assert report["errors"] and "3" in json.dumps(report["errors"])
    assert res.code == 3


def test_a_directory_recurses_and_every_file_gets_one_record(run: Run, samples: Path) -> None:
    images = samples / "images"
    (images / "sub").mkdir()
    (images / "sub" / "empty.jpg").write_bytes(b"")
    res = run("classify", str(images), "--json")
    recs = {Path(r["id"]).name: r for r in res.jsonl()}
    expected = {p.name for p in images.rglob("*") if p.is_file()}
    assert set(recs) == expected
    assert recs["empty.jpg"]["error"] and recs["notes.txt"]["error"]  # not images: clear errors
    assert recs["camera.webp"]["error"] is None
    assert res.code == 3
