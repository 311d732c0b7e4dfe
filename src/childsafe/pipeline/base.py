"""Pipeline steps: small generators over ``Record`` streams (datatrove's shape).

A scan is ``read → hash → match → classify → decide``; the executor writes the result. Each
step is one module, takes records and yields records, and is cheap to build and to pickle:
models and indexes load lazily in ``setup()``, which the executor calls once per worker.
A per-item failure is recorded on the record (``error``) and the record flows on — a step
never drops a record and never lets one item's exception abort the shard.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from childsafe.classifiers.base import ClassifierResult
from childsafe.content.base import Item
from childsafe.types import HashValue, Match


@dataclass(slots=True)
class Record:
    """One item on its way through the pipeline, and everything learnt about it."""

    item: Item
    hashes: dict[str, HashValue] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    scores: list[ClassifierResult] = field(default_factory=list)
    decision: str | None = None
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    stats: dict[str, float] = field(default_factory=dict)

    def fail(self, step: str, message: str) -> None:
        """Record a per-item failure; the first one wins (it is usually the cause)."""
        if self.error is None:
            self.error = f"{step}: {message}"


class Step(ABC):
    """One stage of the pipeline. ``name`` keys its counters in ``summary.json``."""

    name: ClassVar[str]

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models and indexes; called once per worker before the first record."""

    @abstractmethod
    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Yield every input record, in order, enriched by this step."""
