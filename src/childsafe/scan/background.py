"""Merging parts while the shards are still being scanned, in shard order, on one thread.

Why: the merge is serial (one ``results.parquet``), and run after the shard phase it had
been about half of a hashes-only scan's wall time. Here each part is merged as soon as it
and every part before it exist, on a background thread, so the merge overlaps the shard
phase: with one in-process worker the scan keeps two cores busy, with a pool of workers the
driver's otherwise idle time is used. The heavy work on both sides runs without the GIL
(Arrow's readers, writers and compute functions, NumPy, the ``nogil`` numba kernels), so
the two threads do run side by side; what is left is short Python glue per batch.

Order is the shard order whatever order shards finish in, so the outputs are the same for
any executor, worker count, or resumed run (``tests/scan/test_run.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from childsafe.scan.outputs import OutputMerge
from childsafe.scan.parts import find_part, part_path


class MergeFeeder:
    """Hands finished parts to ``merge`` in shard order; see the module docstring."""

    def __init__(self, merge: OutputMerge, parts_dir: Path, shard_ids: Sequence[str]) -> None:
        self._merge, self._dir, self._ids = merge, parts_dir, list(shard_ids)
        self._finished: set[str] = set()
        self._next = 0  # index of the first shard not yet handed to the merge
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="childsafe-merge")
        self._pending: list[Future[None]] = []
        self._failed = False  # once a part fails, later parts are not merged

    def finished(self, shard_ids: Iterable[str]) -> None:
        """Note finished shards; queue every part now ready. Re-raises a failed merge."""
        self._finished.update(shard_ids)
        while self._next < len(self._ids) and self._ids[self._next] in self._finished:
            shard_id = self._ids[self._next]
            # A missing part is reported by the merge itself, naming the file it expected.
            part = find_part(self._dir, shard_id) or part_path(self._dir, shard_id)
            self._pending.append(self._pool.submit(self._merge_one, part))
            self._next += 1
        self._check()

    def _merge_one(self, part: Path) -> None:
        """On the merge thread: one part, unless an earlier one failed."""
        if self._failed:
            return
        try:
            self._merge.part(part)
        except BaseException:
            self._failed = True
            raise

    def _check(self) -> None:
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()  # raises the merge's error, if any

    def wait(self) -> None:
        """Block until every queued part is merged (raising the first failure)."""
        try:
            for future in self._pending:
                future.result()
            self._pending.clear()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def cancel(self) -> None:
        """Drop queued parts and wait for the one being merged (the caller then aborts)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
