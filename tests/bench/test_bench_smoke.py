"""Smoke tests for bench/bench_hashing.py and bench/bench_robustness.py on a tiny corpus.

They check that each benchmark runs end to end through its ``main(argv)``, prints its tables
and writes JSON of the documented shape, not the numbers themselves (those need the full
corpus and a quiet machine; docs/benchmarks.md). The bench scripts are not a package, so
they are imported from ``bench/`` on ``sys.path``, which spawned worker processes inherit.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
TINY = ["--min-megapixels", "0.3"]  # small images keep the whole file well under 20 s


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def _bench(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module(name)


def test_threshold_recall_stops_at_the_first_false_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rob = _bench("bench_robustness", monkeypatch)
    pos, neg = np.array([0, 3, 40]), np.array([20, 200])
    assert rob.threshold_recall(pos, neg, 0.999) == (19, 2 / 3)
    assert rob.threshold_recall(pos, np.array([300]), 0.999) == (256, 1.0)
    assert rob.threshold_recall(np.array([5]), np.array([0]), 0.999) == (None, 0.0)


def test_robustness_smoke(
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rob = _bench("bench_robustness", monkeypatch)
    out = tmp_path / "robustness.json"
    argv = ["--n", "4", "--unrelated", "6", "--workers", "1", "--corpus-dir", str(corpus_dir)]
    assert rob.main([*argv, *TINY, "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    for variant in rob.DEFAULT_VARIANTS:
        assert f"| {variant} R@31 |" in printed or f" {variant} R@31 |" in printed
    assert "unrelated FP rate @31" in printed

    report = json.loads(out.read_text())
    assert report["config"]["n"] == 4
    assert list(report["variants"]) == list(rob.DEFAULT_VARIANTS)
    expected = {rob.IDENTITY, *rob.TRANSFORMS, "all (pooled)"}
    for variant, figures in report["variants"].items():
        assert set(figures["transforms"]) == expected, variant
        for name, score in figures["transforms"].items():
            assert 0.0 <= score["recall_at_radius"] <= 1.0, (variant, name)
            assert 0.0 <= score["recall_at_precision"] <= 1.0, (variant, name)
            assert score["threshold"] is None or 0 <= score["threshold"] <= 256
        identity = figures["transforms"][rob.IDENTITY]
        assert identity["recall_at_radius"] == identity["recall_at_precision"] == 1.0
        assert 0.0 <= figures["fp_rate_unrelated"] <= 1.0
        assert figures["ms_per_image"] > 0
    # the columns mean what they say: only the dihedral variants undo a mirror image
    flip = {v: f["transforms"]["flip_h"]["recall_at_radius"] for v, f in report["variants"].items()}
    assert flip["dihedral"] == flip["dihedral+trim"] == 1.0 > flip["plain"]


def test_hashing_smoke(
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = _bench("bench_hashing", monkeypatch)
    out = tmp_path / "hashing.json"
    argv = ["--n", "4", "--workers", "2", "--rounds", "2", "--corpus-dir", str(corpus_dir)]
    assert bench.main([*argv, *TINY, "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "| implementation | processes | img/s | img/s per core | MB/s | ratio |" in printed
    assert "p99 PDQ disagreement <= 10 bits" in printed

    report = json.loads(out.read_text())
    assert [run["processes"] for run in report["throughput"]] == [1, 2]
    for run in report["throughput"]:
        for name in (bench.CHILDSAFE, bench.BASELINE):
            assert run[name]["images_per_s"] > 0
            assert run[name]["images_per_s_per_core"] == pytest.approx(
                run[name]["images_per_s"] / run["processes"]
            )
        assert run["ratio"] > 0
    upright = report["agreement"]["upright"]
    assert upright["n"] == 4
    assert 0 <= upright["median"] <= upright["p90"] <= upright["p99"] <= upright["max"] <= 256
    assert len(report["targets"]) == 3
    assert all(isinstance(t["pass"], bool) for t in report["targets"])
