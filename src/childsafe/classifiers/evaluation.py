"""Honest evaluation figures: precision, recall, F1 and false-positive rate with intervals.

Point estimates on a few hundred synthetic examples mislead, so every rate carries a 95 %
interval: Wilson score intervals for proportions (well-behaved at 0 and 1, unlike the normal
approximation) and a seeded percentile bootstrap for F1, which is not a proportion. Latency is
reported as percentiles of per-item wall time, since a p99 is what a screening SLA is about.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from childsafe.classifiers.base import ModelInfo

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials; ``(0, 1)`` when ``n == 0``."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact at the ends (floating point leaves 3e-18 for k = 0), and never excluding p.
    lo = 0.0 if k == 0 else min(p, max(0.0, centre - half))
    hi = 1.0 if k == n else max(p, min(1.0, centre + half))
    return (lo, hi)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass(frozen=True, slots=True)
class LabelMetrics:
    """Confusion counts and rates of one label, with 95 % intervals."""

    label: str
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    fpr: float
    precision_ci: tuple[float, float]
    recall_ci: tuple[float, float]
    f1_ci: tuple[float, float]
    fpr_ci: tuple[float, float]

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "fpr": self.fpr,
            "precision_ci": list(self.precision_ci),
            "recall_ci": list(self.recall_ci),
            "f1_ci": list(self.f1_ci),
            "fpr_ci": list(self.fpr_ci),
        }


def binary_metrics(
    label: str,
    truth: Sequence[bool],
    predicted: Sequence[bool],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> LabelMetrics:
    """Metrics of ``predicted`` against ``truth`` (same length), with 95 % intervals."""
    if len(truth) != len(predicted):
        raise ValueError(f"{label}: {len(truth)} truths but {len(predicted)} predictions")
    pairs = [(bool(t), bool(p)) for t, p in zip(truth, predicted, strict=True)]
    tp = sum(1 for t, p in pairs if t and p)
    fp = sum(1 for t, p in pairs if not t and p)
    fn = sum(1 for t, p in pairs if t and not p)
    tn = len(pairs) - tp - fp - fn
    rng = random.Random(seed)
    f1s: list[float] = []
    if pairs and bootstrap > 0:
        codes = [(t << 1) | p for t, p in pairs]  # 3 tp, 2 fn, 1 fp, 0 tn
        for _ in range(bootstrap):
            sample = rng.choices(codes, k=len(codes))
            c = [0, 0, 0, 0]
            for code in sample:
                c[code] += 1
            f1s.append(_f1(c[3], c[1], c[2]))
        f1s.sort()
    f1_ci = (
        (f1s[int(0.025 * (len(f1s) - 1))], f1s[math.ceil(0.975 * (len(f1s) - 1))])
        if f1s
        else (0.0, 1.0)
    )
    return LabelMetrics(
        label=label,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
        f1=_f1(tp, fp, fn),
        fpr=fp / (fp + tn) if fp + tn else 0.0,
        precision_ci=wilson(tp, tp + fp),
        recall_ci=wilson(tp, tp + fn),
        f1_ci=f1_ci,
        fpr_ci=wilson(fp, fp + tn),
    )


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Per-item latency percentiles in milliseconds (nearest-rank)."""
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)

    def pct(q: float) -> float:
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1] * 1000.0

    return {
        "n": len(ordered),
        "mean_ms": sum(ordered) / len(ordered) * 1000.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000.0,
    }


@dataclass(slots=True)
class EvalReport:
    """What ``childsafe eval`` prints for one classifier on one data set."""

    classifier: str
    model: ModelInfo
    dataset: str
    n_items: int
    metrics: list[LabelMetrics] = field(default_factory=list)
    latency: Mapping[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "classifier": self.classifier,
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "licence": self.model.licence,
            },
            "dataset": self.dataset,
            "n_items": self.n_items,
            "metrics": [m.to_dict() for m in self.metrics],
            "latency": dict(self.latency),
            "notes": list(self.notes),
            "extra": dict(self.extra),
        }
