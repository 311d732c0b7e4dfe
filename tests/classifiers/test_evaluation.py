"""Evaluation maths: Wilson intervals, confusion counts, bootstrap F1, latency percentiles."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from childsafe.classifiers.base import ModelInfo
from childsafe.classifiers.evaluation import (
    EvalReport,
    binary_metrics,
    latency_summary,
    wilson,
)


def test_wilson_known_values() -> None:
    # Reference values from the closed form (Newcombe 1998, table I: 81/263 → 0.2553–0.3662).
    lo, hi = wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4) and hi == pytest.approx(0.3662, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and 0.0 < wilson(0, 10)[1] < 0.31
    assert wilson(10, 10)[1] == 1.0 and wilson(10, 10)[0] > 0.69
    assert wilson(0, 0) == (0.0, 1.0)


@given(st.integers(0, 500), st.integers(1, 500))
@example(0, 63)  # found by hypothesis in CI: the lower bound came out as 3e-18
def test_wilson_contains_the_point_estimate(k: int, extra: int) -> None:
    n = k + extra
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_binary_metrics_counts_and_rates() -> None:
    truth = [True, True, True, False, False, False, False, True]
    pred = [True, True, False, True, False, False, False, True]
    m = binary_metrics("risk", truth, pred)
    assert (m.tp, m.fp, m.fn, m.tn) == (3, 1, 1, 3)
    assert m.precision == 0.75 and m.recall == 0.75 and m.f1 == 0.75 and m.fpr == 0.25
    assert m.f1_ci[0] <= m.f1 <= m.f1_ci[1]
    assert m.n == 8 and m.to_dict()["tp"] == 3


def test_binary_metrics_is_deterministic_and_checks_lengths() -> None:
    truth = [i % 3 == 0 for i in range(60)]
    pred = [i % 4 == 0 for i in range(60)]
    assert binary_metrics("x", truth, pred) == binary_metrics("x", truth, pred)
    with pytest.raises(ValueError, match="2 truths but 1 predictions"):
        binary_metrics("x", [True, False], [True])


def test_no_positives_gives_zero_not_a_crash() -> None:
    m = binary_metrics("x", [False] * 5, [False] * 5)
    assert (m.precision, m.recall, m.f1, m.fpr) == (0.0, 0.0, 0.0, 0.0)


def test_latency_percentiles_nearest_rank() -> None:
    s = latency_summary([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert s["p50_ms"] == pytest.approx(50) and s["p99_ms"] == pytest.approx(99)
    assert s["max_ms"] == pytest.approx(100) and math.isclose(s["mean_ms"], 50.5)
    assert latency_summary([]) == {"n": 0}


def test_report_to_dict() -> None:
    report = EvalReport("text_risk", ModelInfo("m", "1", "MIT"), "held-out", 8)
    report.metrics.append(binary_metrics("risk", [True, False], [True, False]))
    d = report.to_dict()
    assert d["model"]["licence"] == "MIT" and d["metrics"][0]["f1"] == 1.0
