"""``ClassifyStep``: run classifiers on the items of the kinds each one handles, in batches.

An item's kinds are its content kind (``image``, ``video``, ``other`` by sniffing) plus
``text`` when it carries a caption. A classifier that raises, or returns the wrong number of
results, costs a ``ClassifierResult`` with ``error`` on each item of that batch — the shard
goes on (DESIGN rule 4) — and a per-item error becomes the record's error, so the item is not
listed as clean. Scores are triage only: the policy turns flags into ``review``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from childsafe.classifiers.base import Classifier
from childsafe.errors import ContentError
from childsafe.pipeline.base import Record, Step
from childsafe.pipeline.chain import batched


def item_kinds(record: Record) -> frozenset[str]:
    """What a classifier could look at in this record: content kind and/or ``text``."""
    item = record.item
    kinds: set[str] = set()
    if item.text:
        kinds.add("text")
    if item.has_content and item.error is None:
        with contextlib.suppress(ContentError):  # unreadable: nothing to classify
            kinds.add(item.kind())
    return frozenset(kinds)


class ClassifyStep(Step):
    """Scores records with every classifier whose ``kinds`` they have."""

    name: ClassVar[str] = "classify"

    def __init__(self, classifiers: Sequence[Classifier], batch_size: int = 32) -> None:
        self.classifiers = list(classifiers)
        self.batch_size = batch_size

    def setup(self) -> None:
        for classifier in self.classifiers:
            classifier.setup()

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        if not self.classifiers:
            yield from records
            return
        for batch in batched(records, self.batch_size):
            kinds = [item_kinds(r) for r in batch]
            for classifier in self.classifiers:
                chosen = [r for r, k in zip(batch, kinds, strict=True) if k & classifier.kinds]
                if chosen:
                    self._score(classifier, chosen)
            yield from batch

    def _score(self, classifier: Classifier, records: list[Record]) -> None:
        results = classifier.classify_safely([r.item for r in records])
        for record, result in zip(records, results, strict=True):
            record.scores.append(result)
            if result.error is not None:
                record.fail(self.name, f"{classifier.name}: {result.error}")
