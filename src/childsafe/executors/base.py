"""Executors run a pipeline over shards, locally or on a Ray cluster, resumably.

Executors and steps are separate (datatrove's shape): the scan workflow builds the steps,
an executor decides where each shard runs. The unit of resumption is the shard: a finished
shard's rows are written atomically to ``parts/<shard_id>.parquet`` by the worker that ran
it, so a killed scan restarts by skipping shards whose part exists — no gaps, no duplicates.
Both executors produce the same parts for the same input; the workflow merges them in shard
order, so outputs do not depend on which executor ran or in which order shards finished.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from childsafe.readers.base import Shard


@dataclass(frozen=True, slots=True)
class ShardDone:
    """What a worker reports for one finished shard (the rows are in its part file)."""

    shard_id: str
    rows: int
    seconds: float
    counters: dict[str, int]


ShardTask = Callable[[Shard], ShardDone]


class Executor(ABC):
    """Runs ``task`` on every shard; yields completions as they finish (any order)."""

    name: str = "base"

    @abstractmethod
    def map(self, task: ShardTask, shards: Sequence[Shard]) -> Iterator[ShardDone]:
        """Run ``task`` over ``shards``; a task's exception is fatal for the scan."""

    def start(self, warm_up: Callable[[], None] | None = None) -> None:  # noqa: B027
        """Optionally start workers now, running ``warm_up`` in each (default: nothing).

        Why: the scan calls this *before* it builds the matcher snapshot, so process start,
        imports and ``warm_up`` (loading compiled kernels) overlap the driver's work instead
        of following it. The next :meth:`map` uses the started workers; :meth:`close`
        releases them if no ``map`` comes. ``warm_up`` is an optimisation only: an executor
        may ignore it, and a failing one must not fail the scan.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers."""
