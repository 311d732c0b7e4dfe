"""``LocalExecutor``: shards run in worker processes on this machine (the default).

Why this shape:

* **Spawned processes, not forked.** The parent may hold threads (numba's pool, I/O), and a
  forked copy of a held lock deadlocks; spawn starts clean interpreters.
* **A bounded window of shards in flight** (``2 × workers``): the next shard is submitted
  only when one finishes, so memory stays flat however many shards a scan has, and every
  worker always has its next shard queued.
* **One-time setup per worker.** The task builds its pipeline (and memory-maps the matcher
  snapshot) on its first shard and keeps it for the process's life (see ``scan.task``);
  numba is limited to ``cpu_count // workers`` threads per worker so workers do not
  oversubscribe the cores.
* **Started early.** :meth:`LocalExecutor.start` spawns the workers before the task exists
  (the scan calls it before building the matcher snapshot) and runs a warm-up in each
  (imports, loading cached numba kernels: ~1-2 s of a spawned worker's start-up), so that
  start-up overlaps the driver's work instead of delaying the first shard.
* **Completions stream** in finishing order; the workflow orders outputs by shard, not by
  completion.
* **Failures are fatal and named.** A task that raises stops the scan with
  :class:`ShardFailed`; a worker that dies (killed, out of memory) with
  :class:`WorkerCrashed`. Finished shards' parts are already on disk, so ``--resume`` goes on
  from there.

``workers=1`` runs every shard in this process: no pickling, real tracebacks, breakpoints
work — for debugging and tests.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from childsafe.errors import RESUME_HINT, ChildsafeError, ShardFailed, WorkerCrashed
from childsafe.executors.base import Executor, ShardDone, ShardTask
from childsafe.readers.base import Shard

__all__ = ["LocalExecutor", "ShardFailed", "WorkerCrashed"]


def _init_worker(threads: int, warm_up: Callable[[], None] | None = None) -> None:
    """Runs first in each worker, before any task (and numba) is imported."""
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
    if warm_up is not None:
        # Only an optimisation: the first shard reports any real problem with its own error.
        with contextlib.suppress(Exception):
            warm_up()


def _ready() -> None:
    """A no-op task: submitting one per worker makes the pool spawn every process now."""


class LocalExecutor(Executor):
    """Runs shards in ``workers`` spawned processes (default: one per CPU)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, max_in_flight: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_in_flight = max(self.workers, max_in_flight or 2 * self.workers)
        self._pool: ProcessPoolExecutor | None = None  # started early, for the next map

    def start(self, warm_up: Callable[[], None] | None = None) -> None:
        """Spawn the worker processes now and run ``warm_up`` in each (see the module doc).

        With ``workers=1`` nothing starts: shards run in this process, which has its own
        imports already, and a warm-up thread would only contend for the GIL with the
        driver's snapshot work.
        """
        if self.workers == 1 or self._pool is not None:
            return
        self._pool = self._new_pool(warm_up)
        for _ in range(self.workers):  # processes spawn on demand: one per waiting task
            self._pool.submit(_ready)

    def close(self) -> None:
        """Release workers started by :meth:`start` that no ``map`` used."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def map(self, task: ShardTask, shards: Sequence[Shard]) -> Iterator[ShardDone]:
        if self.workers == 1:
            for shard in shards:
                yield self._in_process(task, shard)
            return
        yield from self._pool_map(task, shards)

    def _new_pool(self, warm_up: Callable[[], None] | None = None) -> ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads, warm_up),
        )

    def _pool_map(self, task: ShardTask, shards: Sequence[Shard]) -> Iterator[ShardDone]:
        pool, self._pool = self._pool or self._new_pool(), None
        pending: dict[Future[ShardDone], Shard] = {}
        todo = iter(shards)
        finished_all = False
        try:
            for shard in todo:
                pending[pool.submit(task, shard)] = shard
                if len(pending) >= self.max_in_flight:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    shard = pending.pop(future)
                    yield self._result(future, shard)
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(task, nxt)] = nxt
            finished_all = True
        finally:
            # After the last shard, idle workers tear down (~0.4 s: numba, mapped snapshot)
            # in the background while the driver merges; on failure, wait for them.
            pool.shutdown(wait=not finished_all, cancel_futures=True)

    @staticmethod
    def _in_process(task: ShardTask, shard: Shard) -> ShardDone:
        """One worker runs shards here, in-process, with the same errors as a pool."""
        try:
            return task(shard)
        except ShardFailed:
            raise
        except ChildsafeError as exc:
            raise ShardFailed(shard.shard_id, str(exc)) from exc
        except Exception as exc:
            raise ShardFailed(shard.shard_id, f"{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _result(future: Future[ShardDone], shard: Shard) -> ShardDone:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise WorkerCrashed(
                f"a worker process died (killed or out of memory) while scanning shard "
                f"{shard.shard_id}; {RESUME_HINT}"
            ) from exc
        except ChildsafeError as exc:
            raise ShardFailed(shard.shard_id, str(exc)) from exc
        except Exception as exc:
            raise ShardFailed(shard.shard_id, f"{type(exc).__name__}: {exc}") from exc
