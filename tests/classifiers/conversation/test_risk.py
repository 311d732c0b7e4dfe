"""The pair-risk formula, on hand-computed values."""

from __future__ import annotations

import math

import pytest

from childsafe.classifiers.conversation.risk import (
    SENTINEL_SCALE,
    Weights,
    sentinel_part,
    stage_part,
    window_stats,
)


def breadth(d: int) -> float:
    return 1.0 - math.exp(-d / 2.0)


def test_no_signal_no_risk() -> None:
    stats = window_stats([(), (), ()], [0.0, 0.0, 0.0], Weights())
    assert stats.risk == 0.0 and stats.stages == () and stats.stage_messages == 0


def test_empty_window() -> None:
    assert window_stats([], [], Weights()).risk == 0.0


def test_one_stage_in_one_message() -> None:
    part, stages, order, carriers = stage_part([(), ("age_probe",), ()])
    assert (stages, order, carriers) == (("age_probe",), 0.0, 1)
    assert part == pytest.approx(breadth(1) * (0.5 + 0.25 / 3))


def test_three_stages_in_phase_order_over_three_messages() -> None:
    part, stages, order, _ = stage_part([("gifts",), (), ("isolation",), ("meeting_request",)])
    assert stages == ("gifts", "isolation", "meeting_request")
    assert order == 1.0
    assert part == pytest.approx(breadth(3))


def test_out_of_order_stages_count_less() -> None:
    forward, *_ = stage_part([("flattery",), ("secrecy",), ("photo_request",)])
    backward, _, order, _ = stage_part([("photo_request",), ("secrecy",), ("flattery",)])
    assert order == 0.0
    assert backward == pytest.approx(breadth(3) * 0.75)
    assert backward < forward


def test_stages_in_one_message_are_ordered_by_phase_and_counted_once() -> None:
    part, stages, order, carriers = stage_part([("secrecy", "age_probe"), ("age_probe",)])
    assert stages == ("age_probe", "secrecy") and order == 1.0 and carriers == 2
    assert part == pytest.approx(breadth(2) * (0.5 + 0.25 + 0.25 * 2 / 3))


def test_sentinel_part_under_ten_scores_counts_half() -> None:
    part, top, skew = sentinel_part([0.0, 0.25, 0.0])
    assert (top, skew) == (0.25, 0.0)
    assert part == pytest.approx((1 - math.exp(-0.25 / SENTINEL_SCALE)) * 0.5)


def test_sentinel_part_with_a_right_tail_counts_more() -> None:
    scores = [0.0] * 9 + [0.4]
    part, top, skew = sentinel_part(scores)
    assert top == 0.4 and skew == pytest.approx(1 / 3)
    assert part == pytest.approx((1 - math.exp(-0.4 / SENTINEL_SCALE)) * (0.5 + 0.5 / 3))


def test_noisy_or_combination() -> None:
    stages = [("gifts",), ("isolation",), ("meeting_request",)]
    scores = [0.3, 0.0, 0.2]
    w = Weights(stages=0.9, sentinel=0.6)
    stats = window_stats(stages, scores, w)
    expected = 1 - (1 - 0.9 * stats.stage_part) * (1 - 0.6 * stats.sentinel_part)
    assert stats.risk == pytest.approx(expected)
    assert stats.risk > max(0.9 * stats.stage_part, 0.6 * stats.sentinel_part)
    assert 0.0 <= stats.risk < 1.0


def test_zero_weights_switch_parts_off() -> None:
    stages, scores = [("age_probe",), ("secrecy",)], [0.5, 0.5]
    assert window_stats(stages, scores, Weights(stages=0.0, sentinel=1.0)).risk == pytest.approx(
        sentinel_part(scores)[0]
    )
    assert window_stats(stages, scores, Weights(stages=1.0, sentinel=0.0)).risk == pytest.approx(
        stage_part(stages)[0]
    )
