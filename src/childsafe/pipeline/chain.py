"""``Pipeline``: steps chained as generators over one shard's items.

Why generators: a shard streams through every step without being held in memory whole; steps
that need batches (matching, classifiers) collect a bounded window with :func:`batched` and
yield the records back in order. ``setup`` runs once per worker process (the executor keeps
the built pipeline), never per shard.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from childsafe.content.base import Item
from childsafe.pipeline.base import Record, Step

T = TypeVar("T")
BATCH = 256  # one matching kernel pass serves a whole batch of PDQ queries


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """Lists of up to ``n`` consecutive items (``itertools.batched`` arrives in 3.12)."""
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


class Pipeline:
    """An ordered list of steps; ``run`` turns items into finished records, one per item."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self._ready = False

    def setup(self) -> None:
        """Load every step's models and indexes (idempotent)."""
        if not self._ready:
            for step in self.steps:
                step.setup()
            self._ready = True

    def step(self, name: str) -> Step | None:
        """The step called ``name``, if the pipeline has one."""
        return next((s for s in self.steps if s.name == name), None)

    def run(self, items: Iterable[Item]) -> Iterator[Record]:
        """Every item as a record that went through every step, in input order.

        A reader's per-item ``error`` becomes the record's error here (``read: ...``), so
        every step sees it and passes the record through untouched.
        """
        self.setup()
        records: Iterable[Record] = (_record(item) for item in items)
        for step in self.steps:
            records = step.run(records)
        yield from records


def _record(item: Item) -> Record:
    record = Record(item)
    if item.error is not None:
        record.fail("read", item.error)
    return record
