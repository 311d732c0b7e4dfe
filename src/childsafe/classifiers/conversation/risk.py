"""The pair-risk formula: stage progression and Sentinel statistics → one score in [0, 1].

Kept apart from the streaming bookkeeping so the maths can be read (and tested) on its own.

*Stage part.* ``breadth = 1 − exp(−d/2)`` for ``d`` distinct stages in the window (one stage
0.39, two 0.63, three 0.78, five 0.92): each further stage adds evidence, with diminishing
returns. It is scaled by ``0.5 + 0.25·order + 0.25·spread``: ``order`` is the share of steps
between consecutive newly-seen stages that do not go back a phase (rapport → assessment →
exclusivity → escalation is the pattern described in the literature; a single stage has no
order, 0), and ``spread`` is the number of messages carrying stage signals over 3, capped at 1
(one line that happens to hit two rules is weaker than a progression across a chat).

*Sentinel part.* ``1 − exp(−max/0.5)`` of the window's highest message score (Sentinel's own
heuristic calls 0.5 "high"), scaled by ``0.5 + 0.5·max(skew, 0)``: a right-skewed window (a few
spikes over an ordinary median) counts fully, a window under 10 messages or without a tail
counts half.

*Combination.* A noisy-OR, ``1 − (1 − ws·stage)(1 − we·sentinel)``, with ``ws = 0.9`` and
``we = 0.6``: either signal alone can route a pair to review, both together push it up the
queue, and neither can reach 1 on its own. The weights and bands were set by hand on synthetic
development conversations (seeds other than the evaluation's); see
docs/models/conversation-risk.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from childsafe.classifiers.conversation.sentinel import MIN_SKEW_SCORES, skewness
from childsafe.classifiers.conversation.stages import PHASE


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each part may contribute; 0 switches a part off (the bench baselines)."""

    stages: float = 0.9
    sentinel: float = 0.6


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The statistics of one window that the risk is made of (all reported to reviewers)."""

    risk: float
    stage_part: float
    sentinel_part: float
    stages: tuple[str, ...]
    order: float
    stage_messages: int
    sentinel_max: float
    sentinel_skew: float


def stage_part(
    stage_lists: Sequence[tuple[str, ...]],
) -> tuple[float, tuple[str, ...], float, int]:
    """(part, distinct stages in order first seen, order, messages with a stage)."""
    seen: list[str] = []
    carriers = 0
    for stages in stage_lists:
        if stages:
            carriers += 1
        for stage in sorted(stages, key=PHASE.__getitem__):
            if stage not in seen:
                seen.append(stage)
    d = len(seen)
    if d == 0:
        return 0.0, (), 0.0, 0
    steps = list(itertools.pairwise(seen))
    order = sum(PHASE[b] >= PHASE[a] for a, b in steps) / len(steps) if steps else 0.0
    spread = min(1.0, carriers / 3.0)
    breadth = 1.0 - math.exp(-d / 2.0)
    return breadth * (0.5 + 0.25 * order + 0.25 * spread), tuple(seen), order, carriers


SENTINEL_SCALE = 0.25


def sentinel_part(
    scores: Sequence[float], min_count: int = MIN_SKEW_SCORES
) -> tuple[float, float, float]:
    """(part, max score, skew) of a window's Sentinel scores."""
    if not scores:
        return 0.0, 0.0, 0.0
    top = max(scores)
    skew = skewness(scores, min_count)
    peak = 1.0 - math.exp(-top / SENTINEL_SCALE)
    return peak * (0.5 + 0.5 * max(skew, 0.0)), top, skew


def window_stats(
    stage_lists: Sequence[tuple[str, ...]],
    scores: Sequence[float],
    weights: Weights,
    min_skew: int = MIN_SKEW_SCORES,
) -> WindowStats:
    """Everything the pair's risk is made of, for one window of messages."""
    s_part, stages, order, carriers = stage_part(stage_lists)
    e_part, top, skew = sentinel_part(scores, min_skew)
    risk = 1.0 - (1.0 - weights.stages * s_part) * (1.0 - weights.sentinel * e_part)
    return WindowStats(
        risk=min(1.0, max(0.0, risk)),
        stage_part=s_part,
        sentinel_part=e_part,
        stages=stages,
        order=order,
        stage_messages=carriers,
        sentinel_max=top,
        sentinel_skew=skew,
    )
