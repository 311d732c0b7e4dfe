"""``RayExecutor``: each shard is one Ray task, on this machine or on a Ray cluster.

Why Ray and why this shape (datatrove's ``executor/ray.py`` is the model, kept smaller):

* **One task per shard, a bounded window in flight.** The driver submits at most
  ``max_in_flight`` tasks (2 × workers by default) and submits the next shard only when one
  finishes. Submitting 100k shards at once would put 100k task specs in the driver and the
  object store and make ``ray.wait`` slow; a window keeps driver memory flat however many
  shards there are, while keeping every worker fed (the second task per worker is queued
  next to it, so a worker never waits on the driver's round trip).
* **Completions stream.** ``map`` yields each ``ShardDone`` as its task finishes, in any
  order, so the workflow can record progress (and a killed scan can resume) as it goes.
* **A task failure is fatal for the scan.** The shard's exception comes back as
  ``ShardFailed`` (the same class ``LocalExecutor`` raises), naming the shard, with the
  worker's traceback chained; the tasks still in flight are cancelled. Per-item problems
  never get here (they are result rows); what does is a bug or a broken environment, which
  retrying would not fix. Parts are written atomically by the task, so ``childsafe scan
  --resume`` later reruns exactly the shards without a part. Worker *crashes* (a killed or
  OOM-killed process) are retried by Ray (``max_retries``), which is safe for the same
  reason; past the retries they are ``WorkerCrashed``.
* **The task travels once.** The task (a picklable callable carrying the scan's config, not
  its data) is put in the object store once per ``map`` and each worker process deserialises
  it once and keeps it, so state a task loads lazily on first use (the matcher's indexes)
  is loaded once per worker process, not once per shard.
* **Large read-only state travels by path.** The matcher snapshot directory and the output
  directory are paths inside the task; workers open them directly. On one machine, or a
  cluster whose nodes share a filesystem (NFS, Lustre, a FUSE-mounted bucket), that is
  all it takes. On a cluster without shared storage those paths do not exist on the other
  nodes: see ``docs/scan-scale.md`` for what to do.
* **Ray stays optional and quiet.** Ray is imported only when an executor is built, so
  ``import childsafe`` and the local executor never pay for it. Worker stdout/stderr is
  not forwarded to the driver (``log_to_driver=False``: with thousands of tasks it floods
  the terminal and the scan's progress bar) and Ray's own logger is at WARNING; a failing
  task's traceback still reaches the user through ``ShardFailed``, and workers' logs
  stay in Ray's session directory (``/tmp/ray/session_latest/logs``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from childsafe.errors import RESUME_HINT, ChildsafeError, ConfigError, ShardFailed, WorkerCrashed
from childsafe.executors.base import Executor, ShardDone, ShardTask
from childsafe.readers.base import Shard

__all__ = ["INSTALL_HINT", "RayExecutor", "ShardFailed", "WorkerCrashed"]

INSTALL_HINT = "pip install 'childsafe[ray]'"

# One deserialised task per worker process, keyed by the ``map`` call that sent it. Only the
# latest is kept: a worker serves one scan at a time, and an old task may hold big indexes.
_TASKS: dict[str, ShardTask] = {}


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"the Ray executor needs the 'ray' package, which is not installed: {INSTALL_HINT}"
        ) from exc
    return ray


def _run_shard(key: str, boxed: list[Any], shard: Shard) -> ShardDone:
    """The Ray task body: fetch the task once per worker process, then run it on ``shard``.

    The task's object ref is passed inside a list so Ray does *not* resolve it for every
    call; the worker fetches it only the first time it sees ``key``. Module-level, so Ray
    pickles it by reference (workers import ``childsafe.executors.ray``, which imports no
    Ray at import time).
    """
    task = _TASKS.get(key)
    if task is None:
        import ray

        task = ray.get(boxed[0])
        _TASKS.clear()
        _TASKS[key] = task
    return task(shard)


def _failure(ray: ModuleType, shard_id: str, exc: BaseException) -> ChildsafeError:
    """The same errors as ``LocalExecutor``'s, so the CLI handles both executors alike."""
    if isinstance(exc, ray.exceptions.RayTaskError):  # the task itself raised
        cause = exc.cause
        if isinstance(cause, ChildsafeError):
            return ShardFailed(shard_id, str(cause))
        return ShardFailed(shard_id, f"{type(cause).__name__}: {cause}")
    # Ray-side failures past max_retries: worker killed or out of memory, node lost.
    return WorkerCrashed(
        f"a Ray worker died while scanning shard {shard_id} ({type(exc).__name__}: {exc}); "
        f"{RESUME_HINT}"
    )


class RayExecutor(Executor):
    """Runs shard tasks as Ray tasks; see the module docstring for the design.

    ``address`` connects to an existing cluster (``"auto"``, ``"ray://head:10001"``, or
    ``host:port``); without it the executor reuses a Ray already initialised in this process
    (a notebook, a test fixture) or starts a private local instance with ``workers`` CPUs.
    ``workers`` also sizes the in-flight window; by default it is the cluster's CPU count
    divided by ``cpus_per_task``. Only a Ray instance this executor started is shut down by
    :meth:`close`.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        *,
        cpus_per_task: float = 1,
        max_in_flight: int | None = None,
        max_retries: int = 3,
        ray_logging_level: int = logging.WARNING,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be at least 1, not {workers}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ConfigError(f"max_in_flight must be at least 1, not {max_in_flight}")
        ray = _import_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            common: dict[str, Any] = {
                "log_to_driver": False,
                "logging_level": ray_logging_level,
            }
            if address is not None:
                ray.init(address=address, **common)
            else:
                # "local" forces a private instance even if RAY_ADDRESS is set in the
                # environment: without an address the user asked for this machine only.
                ray.init(address="local", num_cpus=workers, include_dashboard=False, **common)
            self._owns_ray = True
        if workers is None:
            cpus = float(ray.cluster_resources().get("CPU", 1))
            workers = max(1, int(cpus // cpus_per_task))
        self.workers = workers
        self.max_in_flight = max_in_flight or 2 * workers
        threads = str(max(1, int(cpus_per_task)))
        # A task gets cpus_per_task cores; numba and BLAS must not start one thread per core
        # of the node on top of the other tasks sharing it (env set before the worker starts).
        self._remote = ray.remote(
            num_cpus=cpus_per_task,
            max_retries=max_retries,
            runtime_env={
                "env_vars": {
                    "NUMBA_NUM_THREADS": threads,
                    "OMP_NUM_THREADS": threads,
                }
            },
        )(_run_shard)

    def map(self, task: ShardTask, shards: Sequence[Shard]) -> Iterator[ShardDone]:
        """Yield a ``ShardDone`` per shard as it finishes; the first failure raises ``ShardFailed``.

        Shards are pulled from ``shards`` lazily, at most ``max_in_flight`` ahead of the
        completions already yielded. If the caller stops iterating early, or a shard fails,
        the tasks still in flight are cancelled (their parts are never written, so a resumed
        scan reruns them).
        """
        ray = self._ray
        key = uuid.uuid4().hex
        boxed = [ray.put(task)]
        todo = iter(shards)
        pending: dict[Any, str] = {}  # ObjectRef -> shard id

        def submit() -> bool:
            shard = next(todo, None)
            if shard is None:
                return False
            pending[self._remote.remote(key, boxed, shard)] = shard.shard_id
            return True

        try:
            while len(pending) < self.max_in_flight and submit():
                pass
            while pending:
                refs = list(pending)
                ready, _ = ray.wait(refs, num_returns=1)
                if len(refs) > 1:  # collect everything else already done in one call
                    more, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
                    ready = list(dict.fromkeys([*ready, *more]))
                for ref in ready:
                    shard_id = pending.pop(ref)
                    try:
                        done: ShardDone = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        raise _failure(ray, shard_id, exc) from exc
                    submit()  # keep workers fed while the caller handles this one
                    yield done
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        """Shut Ray down if this executor started it; leave a borrowed instance running."""
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False
