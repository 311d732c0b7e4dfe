"""The Sentinel maths on hand-made vectors, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from childsafe.classifiers.conversation.sentinel import (
    SentinelIndex,
    contrastive_score,
    contrastive_scores,
    skewness,
)


def lme(values: list[float]) -> float:
    """log(mean(exp(values))), the textbook way."""
    return math.log(sum(math.exp(v) for v in values) / len(values))


def test_score_is_log_ratio_of_mean_exp_over_top_k() -> None:
    pos = [0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.0]  # top 5: 0.9 … 0.5
    neg = [0.2, 0.1, 0.3, 0.0, 0.1, 0.2, -0.4]  # top 5: 0.3 0.2 0.2 0.1 0.1
    expected = lme([0.9, 0.8, 0.7, 0.6, 0.5]) - lme([0.3, 0.2, 0.2, 0.1, 0.1])
    assert contrastive_score(pos, neg) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.7100 - 0.1828, abs=1e-3)  # worked by hand


def test_score_is_clipped_at_zero_when_closer_to_negatives() -> None:
    assert contrastive_score([0.1] * 5, [0.6] * 5) == 0.0


def test_scores_under_the_floor_are_zeroed() -> None:
    # Equal top-5 means, shifted by 0.05: ratio log(e^0.05) = 0.05 < 0.1.
    assert contrastive_score([0.35] * 5, [0.30] * 5) == 0.0
    assert contrastive_score([0.35] * 5, [0.30] * 5, floor=0.0) == pytest.approx(0.05)
    assert contrastive_score([0.45] * 5, [0.30] * 5) == pytest.approx(0.15)


def test_top_k_uses_all_values_when_fewer_than_k() -> None:
    assert contrastive_score([0.9, 0.7], [0.1]) == pytest.approx(lme([0.9, 0.7]) - 0.1)


def test_top_k_parameter() -> None:
    pos, neg = [0.9, 0.1, 0.1], [0.2, 0.2, 0.2]
    assert contrastive_score(pos, neg, top_k=1) == pytest.approx(0.7)
    assert contrastive_score(pos, neg, top_k=3) == pytest.approx(lme(pos) - 0.2)


def test_rows_are_scored_independently() -> None:
    pos = np.array([[0.9] * 5, [0.1] * 5])
    neg = np.array([[0.2] * 5, [0.2] * 5])
    assert contrastive_scores(pos, neg).tolist() == pytest.approx([0.7, 0.0])


def test_index_scores_unit_vectors_by_cosine() -> None:
    e = np.eye(4, dtype=np.float32)
    index = SentinelIndex(positives=e[:1], negatives=e[1:3], top_k=5)
    q = np.array([[0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    # q0: pos sims [0.8]; neg sims [0.6, 0.0] → 0.8 − log((e^0.6 + 1)/2); q1: 0 − 0 → 0.
    want = 0.8 - math.log((math.exp(0.6) + 1.0) / 2.0)
    assert index.score(q).tolist() == pytest.approx([want, 0.0], abs=1e-6)


@pytest.mark.parametrize(
    ("pos", "neg", "message"),
    [
        (np.zeros((0, 4)), np.eye(4), "at least one positive"),
        (np.eye(4), np.zeros((0, 4)), "at least one positive"),
        (np.eye(4), np.eye(3), "differ in width"),
        (np.ones(4), np.eye(4), "2-D"),
    ],
)
def test_index_refuses_bad_exemplars(pos: np.ndarray, neg: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SentinelIndex(pos, neg)


def test_index_refuses_queries_of_the_wrong_width() -> None:
    index = SentinelIndex(np.eye(4)[:2], np.eye(4)[2:])
    with pytest.raises(ValueError, match="width 4"):
        index.score(np.ones((1, 3)))


class TestSkewness:
    def test_fewer_than_ten_scores_is_zero(self) -> None:
        assert skewness([0.0] * 8 + [1.0]) == 0.0

    def test_zero_spread_is_zero(self) -> None:
        assert skewness([0.3] * 20) == 0.0
        assert skewness([0.0] * 10) == 0.0

    def test_empty_is_zero(self) -> None:
        assert skewness([]) == 0.0

    def test_exact_value_of_a_right_tail(self) -> None:
        scores = [0.0] * 9 + [1.0]  # mean 0.1, median 0, population std 0.3
        assert skewness(scores) == pytest.approx(0.1 / 0.3)

    def test_left_tail_is_negative(self) -> None:
        assert skewness([1.0] * 9 + [0.0]) == pytest.approx(-0.1 / 0.3)

    def test_symmetric_is_zero(self) -> None:
        assert skewness([0.0, 1.0] * 6) == pytest.approx(0.0)

    def test_min_count_is_configurable(self) -> None:
        assert skewness([0.0, 0.0, 0.0, 1.0], min_count=4) == pytest.approx(
            0.25 / math.sqrt(0.1875)
        )

    def test_bounded_by_one(self) -> None:
        rng = np.random.default_rng(0)
        for _ in range(200):
            values = rng.exponential(size=int(rng.integers(10, 60))) ** 3
            assert -1.0 <= skewness(values.tolist()) <= 1.0
