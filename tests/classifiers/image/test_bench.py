"""Smoke test of bench/bench_image_classifiers.py: it runs end to end and writes its rows.

The numbers themselves need a quiet machine (docs/models/image-risk.md); this only checks the
script has not rotted. bench/ is not a package, so it is imported from its folder.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def test_bench_runs_and_writes_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module("bench_image_classifiers")
    out = tmp_path / "rows.json"
    assert bench.main(["--reps", "2", "--sizes", "256", "--batch", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "image_risk" in printed and "base/ours" in printed
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert {(r["image"], r["classifier"]) for r in rows} == {
        (image, clf)
        for image in ("astronaut", "coffee")
        for clf in ("nsfw", "face_age", "image_risk")
    }
    for row in rows:
        assert row["error"] is None and row["long_side"] == 256
        assert 0 < row["ours_p50_ms"] <= row["ours_p99_ms"]
        assert 0 < row["base_p50_ms"] <= row["base_p99_ms"]
    assert data["batched"]["batch"] == 2 and data["batched"]["ms_per_image_p50"] > 0
