"""The ``Classifier`` kind: a risk signal, never a verdict (DESIGN rule 3).

Classifiers score items in batches and say which model produced the score (name, version,
licence) and which thresholds they applied, so a scan or a review can be reproduced and
audited. Models load lazily (``setup``) so a classifier is cheap to build and to pickle.
The real image, text and conversation classifiers come with their own issue; the pipeline's
classify step accepts any subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from childsafe.content.base import Item


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What produced a score: enough to reproduce it and to check its licence."""

    name: str
    version: str
    licence: str


@dataclass(frozen=True, slots=True)
class ClassifierResult:
    """Scores of one item by one classifier.

    ``flagged`` lists the labels whose score reached its threshold; ``error`` is set when the
    classifier could not score this item (the batch goes on).
    """

    classifier: str
    model: ModelInfo
    scores: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()
    error: str | None = None


class Classifier(ABC):
    """Base class of classifiers: a stable ``name``, a model, one batched hook."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        self.thresholds = dict(thresholds or {})

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load the model (once per worker)."""

    @property
    @abstractmethod
    def model(self) -> ModelInfo:
        """The model's name, version and licence."""

    @abstractmethod
    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        """One result per item, in order; per-item failures are results with ``error``."""
