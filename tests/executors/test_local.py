"""LocalExecutor: in-process and pooled runs agree; failures and crashes are named."""

from __future__ import annotations

import os
import signal
import time

import pytest

from childsafe.errors import ShardFailed, WorkerCrashed
from childsafe.executors.base import ShardDone
from childsafe.executors.local import LocalExecutor
from childsafe.readers.base import Shard

SHARDS = [Shard("t", "src", f"s{i:02d}", "p", i) for i in range(6)]


class Square:
    """A picklable task: the shard's ``start`` squared, reported as rows."""

    def __call__(self, shard: Shard) -> ShardDone:
        if shard.shard_id == "boom":
            raise ValueError("bad shard")
        if shard.shard_id == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01 * (shard.start % 3))
        return ShardDone(shard.shard_id, shard.start**2, 0.0, {"pid": os.getpid()})


def test_in_process_and_pool_give_the_same_results() -> None:
    one = {d.shard_id: d.rows for d in LocalExecutor(1).map(Square(), SHARDS)}
    pooled = list(LocalExecutor(2, max_in_flight=2).map(Square(), SHARDS))
    assert {d.shard_id: d.rows for d in pooled} == one == {s.shard_id: s.start**2 for s in SHARDS}
    assert os.getpid() not in {d.counters["pid"] for d in pooled}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_names_its_shard(workers: int) -> None:
    shards = [*SHARDS[:2], Shard("t", "src", "boom", "p")]
    with pytest.raises(ShardFailed, match="shard boom failed: ValueError: bad shard"):
        list(LocalExecutor(workers).map(Square(), shards))


def test_a_killed_worker_fails_the_scan_clearly() -> None:
    with pytest.raises(WorkerCrashed, match=r"died.*--resume"):
        list(LocalExecutor(2).map(Square(), [Shard("t", "src", "die", "p"), *SHARDS[:2]]))


def _mark_warm() -> None:
    """Warm-up for the start() tests: leaves a trace the task can report."""
    os.environ["CHILDSAFE_TEST_WARMED"] = "yes"


def _failing_warm_up() -> None:
    raise RuntimeError("warm-up broke")


class ReportWarm:
    """Reports whether this worker ran the warm-up before its first shard."""

    def __call__(self, shard: Shard) -> ShardDone:
        warmed = int(os.environ.get("CHILDSAFE_TEST_WARMED") == "yes")
        return ShardDone(shard.shard_id, warmed, 0.0, {"pid": os.getpid()})


def test_started_workers_run_the_warm_up_and_serve_the_next_map() -> None:
    executor = LocalExecutor(2)
    executor.start(_mark_warm)
    done = list(executor.map(ReportWarm(), SHARDS))
    assert [d.rows for d in done] == [1] * len(SHARDS)
    assert executor._pool is None  # consumed by the map
    again = list(executor.map(ReportWarm(), SHARDS[:2]))  # a plain pool afterwards
    assert [d.rows for d in again] == [0, 0]


def test_a_failing_warm_up_does_not_fail_the_scan_and_close_releases_unused_workers() -> None:
    executor = LocalExecutor(2)
    executor.start(_failing_warm_up)
    assert {d.rows for d in executor.map(Square(), SHARDS)} == {s.start**2 for s in SHARDS}
    executor.start()
    pool = executor._pool
    assert pool is not None
    executor.close()
    assert executor._pool is None
    with pytest.raises(RuntimeError):
        pool.submit(Square(), SHARDS[0])  # shut down


def test_start_is_a_no_op_in_process() -> None:
    executor = LocalExecutor(1)
    executor.start(_failing_warm_up)
    assert executor._pool is None
