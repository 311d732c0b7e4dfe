"""The ``Classifier`` kind: a risk signal, never a verdict (DESIGN rule 3).

Classifiers score items in batches and say which model produced the score (name, version,
licence) and which thresholds they applied, so a scan or a review can be reproduced and
audited. Models load lazily (``setup``) so a classifier is cheap to build and to pickle, and a
worker process pays the load once.

A result carries *why* as well as *how much*: ``evidence`` points at what drove a label (a
text span, a face box, a message) so a reviewer can check it without re-running the model,
and ``priority`` orders the review queue (a nude image with a minor-likely face outranks a
nude image alone). Scores only ever route items to human review; the policy decides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from childsafe.content.base import Item


class Priority(IntEnum):
    """Review priority a classifier asks for; the review queue sorts on it, highest first."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What produced a score: enough to reproduce it and to check its licence."""

    name: str
    version: str
    licence: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What drove a label: a text span (``start``/``end`` into the item's original text), a
    region of an image (``box`` as left, top, right, bottom pixels) or a message index.

    ``detail`` is a short human-readable phrase (``"age mention"``, ``"face 1: P(<18)=0.72"``);
    it never quotes more of the content than the span itself.
    """

    label: str
    detail: str
    start: int | None = None
    end: int | None = None
    box: tuple[int, int, int, int] | None = None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class ClassifierResult:
    """Scores of one item by one classifier.

    ``flagged`` lists the labels whose score reached its threshold; ``priority`` says whether
    (and how urgently) the item should reach a human — ``NONE`` means the flags are
    informational. ``error`` is set when the classifier could not score this item (the batch
    goes on). ``details`` holds JSON-able
    extras a reviewer needs (per-face ages, whether the text was truncated).
    """

    classifier: str
    model: ModelInfo
    scores: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()
    error: str | None = None
    evidence: tuple[Evidence, ...] = ()
    priority: Priority = Priority.NONE
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def asks_review(self) -> bool:
        """Whether this result routes its item to human review (priority above ``NONE``).

        ``flagged`` alone is not enough: a label can be informational (``minor`` on a
        homework question) — the classifier's priority says whether a human should look.
        """
        return self.priority > Priority.NONE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, for ``--json`` output and the service."""
        return {
            "classifier": self.classifier,
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "licence": self.model.licence,
            },
            "scores": dict(self.scores),
            "thresholds": dict(self.thresholds),
            "flagged": list(self.flagged),
            "priority": self.priority.name.lower(),
            "evidence": [
                {k: v for k, v in _evidence_dict(e).items() if v is not None} for e in self.evidence
            ],
            "details": dict(self.details),
            "error": self.error,
        }


def _evidence_dict(e: Evidence) -> dict[str, Any]:
    return {
        "label": e.label,
        "detail": e.detail,
        "start": e.start,
        "end": e.end,
        "box": list(e.box) if e.box is not None else None,
        "score": e.score,
    }


def package_version(distribution: str, missing: str = "not installed") -> str:
    """The installed version of the package that ships a model (it versions the weights)."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return missing


def flag(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[str, ...]:
    """The labels whose score reached its threshold, in the order of ``scores``."""
    return tuple(
        label for label, s in scores.items() if label in thresholds and s >= thresholds[label]
    )


class Classifier(ABC):
    """Base class of classifiers: a stable ``name``, a model, one batched hook.

    ``default_thresholds`` are the documented operating points (see docs/models/); a caller's
    ``thresholds`` override them label by label, and an unknown label is refused so a typo
    cannot silently disable a check.
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_thresholds: ClassVar[Mapping[str, float]] = {}

    def __init__(self, thresholds: Mapping[str, float] | None = None) -> None:
        merged = dict(self.default_thresholds)
        for label, value in (thresholds or {}).items():
            if self.default_thresholds and label not in self.default_thresholds:
                known = ", ".join(sorted(self.default_thresholds))
                raise ValueError(f"{self.name}: unknown label {label!r} (known: {known})")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{self.name}: threshold for {label!r} must be in [0, 1]")
            merged[label] = float(value)
        self.thresholds = merged

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load the model (once per worker). Must be idempotent."""

    @property
    @abstractmethod
    def model(self) -> ModelInfo:
        """The model's name, version and licence."""

    @abstractmethod
    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        """One result per item, in order; per-item failures are results with ``error``."""

    def classify_safely(self, items: Sequence[Item]) -> list[ClassifierResult]:
        """``classify``, but a classifier that raises or miscounts costs an error result per
        item instead of the batch (DESIGN rule 4): the one guard every caller uses."""
        try:
            results = self.classify(items)
            if len(results) != len(items):
                raise RuntimeError(f"returned {len(results)} results for {len(items)} items")
            return results
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
        try:
            return [self.failed(message) for _ in items]
        except Exception:  # ``failed`` needs ``model``, which may be what broke
            unknown = ModelInfo("unknown", "unknown", "unknown")
            return [ClassifierResult(self.name, unknown, error=message) for _ in items]

    def failed(self, message: str) -> ClassifierResult:
        """A result saying this item could not be scored (the batch goes on)."""
        return ClassifierResult(
            self.name, self.model, thresholds=dict(self.thresholds), error=message
        )
