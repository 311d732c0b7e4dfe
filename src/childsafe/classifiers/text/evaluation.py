"""Held-out evaluation of ``text_risk``, next to a patterns-only baseline.

The held-out sentences come from ``heldout.json``, which shares no frame and no vocabulary
with the training templates (synth.py), so the figures measure the model on wording it never
saw. They are still synthetic: they say how the model ranks clean, short, template-made
prompts, not how it will do on real traffic (docs/models/text-risk.md).

Each prompt is scored by its own ``classify`` call, the way a screening service sees it, and
timed; BLAS is held to one thread by the embedder (``Settings().model_threads``, default 1),
so the latency is single-core. Besides precision/recall/F1 per label, the report carries the
figures the targets are about: the risk false-positive rate on benign prompts about children,
on prompts mentioning a child and an adult term about *different* subjects, and risk recall
on obfuscated prompts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from childsafe.classifiers.base import ClassifierResult, ModelInfo
from childsafe.classifiers.evaluation import (
    EvalReport,
    LabelMetrics,
    binary_metrics,
    latency_summary,
)
from childsafe.classifiers.text import synth
from childsafe.classifiers.text.features import analyse, pairs
from childsafe.classifiers.text.risk import LABELS, TextRiskClassifier

BASELINE = "patterns-only"
# The baseline's operating point, chosen like the model's: best risk F1 on the TRAINING
# sentences over 0.15…0.5 (0.15 = any lexicon signal but the faintest).
BASELINE_THRESHOLD = 0.15
BASELINE_MODEL = ModelInfo("childsafe-text-patterns", "rules", "Apache-2.0")
DATASET = "heldout-synthetic"

Predictions = list[dict[str, bool]]


def _slices(samples: Sequence[synth.Sample], predicted: Predictions) -> list[LabelMetrics]:
    """Per-label metrics, then the slices the targets name."""
    out = [
        binary_metrics(label, [s.labels()[label] for s in samples], [p[label] for p in predicted])
        for label in LABELS
    ]

    def subset(name: str, keep: Callable[[synth.Sample], bool]) -> None:
        idx = [i for i, s in enumerate(samples) if keep(s)]
        out.append(
            binary_metrics(
                name, [samples[i].risk for i in idx], [predicted[i]["risk"] for i in idx]
            )
        )

    subset("risk | benign_child", lambda s: s.cls == "benign_child")
    subset("risk | mixed_subject", lambda s: s.cls == "mixed_subject")
    subset("risk | adult_young_sexual", lambda s: s.cls == "adult_young_sexual")
    subset("risk | obfuscated", lambda s: s.obfuscation is not None)
    return out


def _flag_rates(samples: Sequence[synth.Sample], predicted: Predictions) -> dict[str, object]:
    rates: dict[str, object] = {}
    for cls in synth.CLASS_LABELS:
        idx = [i for i, s in enumerate(samples) if s.cls == cls]
        if idx:
            rates[cls] = {
                label: round(sum(predicted[i][label] for i in idx) / len(idx), 4)
                for label in LABELS
            }
    return rates


def patterns_only(text: str, threshold: float = BASELINE_THRESHOLD) -> dict[str, bool]:
    """The baseline: lexicon signals alone (noisy-OR ≥ ``threshold``), and risk when a minor
    and a sexual signal both reach it and are linked as the same subject (features.pairs)."""
    a = analyse(text)
    minor, sexual = a.patterns[0] >= threshold, a.patterns[1] >= threshold
    linked = any(
        p.near and p.minor.weight >= threshold and p.sexual.weight >= threshold
        for p in pairs(a.normalized.original, a.signals)
    )
    return {"minor": minor, "sexual": sexual, "risk": minor and sexual and linked}


def evaluate_text(
    samples: Sequence[synth.Sample] | None = None,
    classifier: TextRiskClassifier | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[EvalReport]:
    """``text_risk`` and the patterns-only baseline on the held-out set (or ``samples``)."""
    data = list(samples) if samples is not None else synth.heldout_data()
    clf = classifier or TextRiskClassifier(thresholds=thresholds)
    clf.setup()
    clf.score_texts(["warm-up"])  # first-call costs (tokenizer, page faults) are not latency
    seconds: list[float] = []
    results: list[ClassifierResult] = []
    for s in data:
        started = time.perf_counter()
        results += clf.score_texts([s.text])
        seconds.append(time.perf_counter() - started)
    errors = [r.error for r in results if r.error]
    predicted = [{label: label in r.flagged for label in LABELS} for r in results]

    base_seconds: list[float] = []
    base_predicted: Predictions = []
    for s in data:
        started = time.perf_counter()
        base_predicted.append(patterns_only(s.text))
        base_seconds.append(time.perf_counter() - started)

    both_signals = sum(
        1 for s in data if s.risk and any(p.near for p in pairs(s.text, analyse(s.text).signals))
    )
    n_risk = sum(s.risk for s in data)
    dataset = f"{DATASET} (seed {synth.HELDOUT_SEED})" if samples is None else "given samples"
    notes = [
        "synthetic, template-made prompts; not a measure of real-traffic performance",
        f"lexicon coverage: {both_signals}/{n_risk} held-out risk prompts have a linked "
        "minor+sexual pattern pair; the rest rely on the learned heads",
    ]
    if errors:
        notes.append(f"{len(errors)} items errored: {errors[:3]}")
    model_report = EvalReport(
        classifier=clf.name,
        model=clf.model,
        dataset=dataset,
        n_items=len(data),
        metrics=_slices(data, predicted),
        latency=latency_summary(seconds),
        notes=notes,
        extra={"thresholds": dict(clf.thresholds), "flag_rates": _flag_rates(data, predicted)},
    )
    baseline_report = EvalReport(
        classifier=BASELINE,
        model=BASELINE_MODEL,
        dataset=dataset,
        n_items=len(data),
        metrics=_slices(data, base_predicted),
        latency=latency_summary(base_seconds),
        notes=[
            f"baseline: lexicon signals only (noisy-OR >= {BASELINE_THRESHOLD}), "
            "risk = minor and sexual signals linked in one clause"
        ],
        extra={"flag_rates": _flag_rates(data, base_predicted)},
    )
    return [model_report, baseline_report]
