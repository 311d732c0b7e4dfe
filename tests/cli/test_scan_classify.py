"""``childsafe scan --classifier``: classifier flags send items to review, never to block."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from tests.cli.conftest import Run
from tests.scan.scanfix import make_folder

CAPTIONS = {
    "r1": "a cat asleep on a sofa",
    "r2": "nsfw picture of a 12 year old",  # the mildest wording that exercises text_risk
    "r3": "kids building a sandcastle at the beach",
    "r4": "",
}


def test_caption_table_with_text_risk(tmp_path: Path, run: Run) -> None:
    table = tmp_path / "captions.jsonl"
    table.write_text(
        "".join(json.dumps({"id": k, "caption": v}) + "\n" for k, v in CAPTIONS.items())
    )
    out = tmp_path / "out"
    res = run("scan", str(table), "--out", str(out), "--workers", "1", "--classifier",
              "text_risk", "--json")  # fmt: skip
    assert res.code == 1, res.err
    rows = {
        r["item_id"].removeprefix("captions/"): r
        for r in pq.read_table(out / "results.parquet").to_pylist()
    }
    assert set(rows) == set(CAPTIONS)
    assert rows["r2"]["decision"] == "review"
    assert "classifier:text_risk:risk" in rows["r2"]["reasons"]
    assert rows["r1"]["decision"] == "allow" and rows["r3"]["decision"] == "allow"
    models = json.dumps(json.loads(res.out))
    assert "childsafe-text-risk" in models  # the summary names the model and its version
    quarantine = pq.read_table(out / "quarantine.parquet").column("item_id").to_pylist()
    assert quarantine == ["captions/r2"]


def test_images_with_image_risk_and_bad_threshold(tmp_path: Path, run: Run) -> None:
    make_folder(tmp_path / "photos", [1, 2], broken=True)
    out = tmp_path / "out"
    res = run("scan", str(tmp_path / "photos"), "--out", str(out), "--workers", "1",
              "--classifier", "image_risk")  # fmt: skip
    assert res.code == 3, res.err  # the broken file is an error row; nothing flagged
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert len(rows) == 3
    scored = [r for r in rows if r["error"] is None]
    assert scored and all(any(s["classifier"] == "image_risk" for s in r["scores"]) for r in scored)
    bad = run("scan", str(tmp_path / "photos"), "--out", str(tmp_path / "o2"), "--threshold",
              "nsfw.nsfw=0.5")  # fmt: skip
    assert bad.code == 2 and "--classifier" in bad.err
