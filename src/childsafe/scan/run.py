"""``run_scan``: the dataset-scan workflow, from sources to ``results.parquet``.

1. **Plan.** Each source gets its reader (``reader_for``) and lists its shards; a source
   that cannot be read at all is a ``SourceError`` naming it, fatal before any work.
2. **Out directory.** A non-empty ``out`` is refused unless ``resume``; a resumed one must
   carry the same configuration fingerprint and shard list in ``scan.json``.
3. **Snapshot.** A fresh scan syncs a ``Matcher`` on the store and saves a read-only snapshot
   under ``out/.snapshot/``: workers load it and never open the database. A resumed scan
   reuses the snapshot it started with, so every part is matched against the same bank
   versions however many times the scan was interrupted.
4. **Run.** Shards whose part (``parts/<shard_id>.parquet`` or ``.arrow``) exists are done;
   the others go through the executor as ``ScanTask`` calls. Stray temporary files of
   killed workers are deleted.
5. **Merge.** ``scan.outputs.OutputMerge`` merges the parts in shard order, so outputs do
   not depend on the executor, the worker count or the order shards finished. It runs on
   a background thread *during* step 4, taking each part as soon as it and every part
   before it exist (``scan.background``); a failure anywhere removes the half-written
   outputs and leaves the parts for ``--resume``.
"""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from childsafe.banks.base import BankStore
from childsafe.errors import ConfigError
from childsafe.executors.base import Executor, ShardDone
from childsafe.matching.matcher import Matcher
from childsafe.matching.snapshot import FrozenMatcher, MatcherSnapshot
from childsafe.pipeline.classify import ClassifyStep
from childsafe.pipeline.decide import DecideStep
from childsafe.pipeline.hash import HashStep
from childsafe.pipeline.match import MatchStep
from childsafe.readers import READERS, expand_sources, reader_for
from childsafe.readers.base import Reader, Shard
from childsafe.scan.background import MergeFeeder
from childsafe.scan.config import ScanConfig
from childsafe.scan.outputs import OutputContext, OutputMerge
from childsafe.scan.parts import TMP_SUFFIX, find_part
from childsafe.scan.summary import ScanSummary
from childsafe.scan.task import ScanTask, warm_up

STATE_FILE = "scan.json"
SNAPSHOT_DIR = ".snapshot"
PARTS_DIR = "parts"


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """Where a scan stands, reported after planning and after every finished shard."""

    shards_total: int
    shards_done: int  # including those resumed from an earlier run
    shards_resumed: int
    items: int  # rows written by this run


ProgressFn = Callable[[ScanProgress], None]


def plan(config: ScanConfig) -> tuple[dict[str, Reader], list[Shard]]:
    """Readers per source and every shard, in source then shard order."""
    readers: dict[str, Reader] = {}
    shards: list[Shard] = []
    sources = expand_sources(list(config.sources))
    many = len(sources) > 1
    for i, source in enumerate(sources):
        reader = reader_for(source, **_options_for(source, config.shard_options))
        readers[source] = reader
        shards += reader.shards(source, index=i if many else None)
    seen: set[str] = set()
    for shard in shards:
        if shard.shard_id in seen:
            raise ConfigError(
                f"two shards are both called {shard.shard_id!r}: list each source once"
            )
        seen.add(shard.shard_id)
    return readers, shards


def _options_for(source: str, options: dict[str, Any]) -> dict[str, Any]:
    """``shard_size`` per kind of reader: a table's ``rows_per_shard``; a tar is one shard.

    The CLI has one ``--shard-size`` for a scan that may mix folders, tars and tables.
    """
    cls = next((c for c in READERS if c.sniff(source)), None)
    if "shard_size" not in options or cls is None:
        return dict(options)
    params = inspect.signature(cls.__init__).parameters
    out = {k: v for k, v in options.items() if k != "shard_size"}
    if "shard_size" in params:
        out["shard_size"] = options["shard_size"]
    elif "rows_per_shard" in params:
        out["rows_per_shard"] = options["shard_size"]
    return out


def _check_out(config: ScanConfig, shards: list[Shard]) -> dict[str, Any] | None:
    """The saved state of a resumable ``out``, None for a fresh one; refuses a wrong ``out``."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out must be a directory")
    if not out.exists() or not any(out.iterdir()):
        return None
    if not config.resume:
        raise ConfigError(
            f"{out} is not empty: pass --resume to continue the scan there, or choose another --out"
        )
    try:
        state = json.loads((out / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"{out}: cannot resume, no readable {STATE_FILE} (not a childsafe scan?)"
        ) from None
    if state.get("fingerprint") != config.fingerprint():
        old, new = state.get("config", {}), config.describe()
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise ConfigError(
            f"{out}: cannot resume, the scan there was started with a different configuration "
            f"({', '.join(changed) or 'fingerprint'} differ); use the same options or another --out"
        )
    if state.get("shards") != [s.shard_id for s in shards]:
        raise ConfigError(
            f"{out}: cannot resume, the sources' shards changed since the scan started"
        )
    return dict(state)


def _snapshot(config: ScanConfig, store: BankStore, resumed: bool) -> FrozenMatcher:
    where = config.out / SNAPSHOT_DIR
    if resumed:
        return MatcherSnapshot.load(where)
    if not store.list_banks() and not config.classifiers:
        raise ConfigError("no banks to match against: import one with `childsafe banks import`")
    matcher = Matcher(store, config.banks or None, index_dir=config.index_dir)
    matcher.sync()
    MatcherSnapshot.save(matcher, where)
    return MatcherSnapshot.load(where)


def build_task(
    config: ScanConfig, readers: dict[str, Reader], hash_types: tuple[str, ...], run_key: str
) -> ScanTask:
    """The per-shard task: reader instances, the steps, and where parts go."""
    steps = [
        HashStep(hash_types, config.settings),
        MatchStep(config.out / SNAPSHOT_DIR),
        ClassifyStep(config.classifiers),
        DecideStep(config.policy),
    ]
    return ScanTask(run_key, str(config.out / PARTS_DIR), readers, steps)


def make_executor(config: ScanConfig) -> Executor:
    """The executor ``config.executor`` names (Ray only imported when asked for)."""
    if config.executor == "local":
        from childsafe.executors.local import LocalExecutor

        return LocalExecutor(config.workers)
    if config.executor == "ray":
        try:
            from childsafe.executors.ray import RayExecutor
        except ImportError as exc:
            raise ConfigError(f"the Ray executor is not available: {exc}") from None
        return RayExecutor(address=config.address, workers=config.workers)
    raise ConfigError(f"unknown executor {config.executor!r}: use local or ray")


def run_scan(
    config: ScanConfig,
    store: BankStore,
    *,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> ScanSummary:
    """Scan ``config.sources`` against the store's banks; see the module docstring."""
    started = datetime.now(UTC)
    readers, shards = plan(config)
    state = _check_out(config, shards)
    config.out.mkdir(parents=True, exist_ok=True)
    owned = executor is None
    executor = executor or make_executor(config)
    if any(find_part(config.out / PARTS_DIR, s.shard_id) is None for s in shards):
        # Workers start (and warm up) while the snapshot is built: see Executor.start.
        content = any(not hasattr(r, "read_batches") for r in readers.values())
        executor.start(partial(warm_up, content))
    try:
        return _scan(config, store, executor, readers, shards, state, started, progress)
    finally:
        if owned:
            executor.close()


def _scan(
    config: ScanConfig,
    store: BankStore,
    executor: Executor,
    readers: dict[str, Reader],
    shards: list[Shard],
    state: dict[str, Any] | None,
    started: datetime,
    progress: ProgressFn | None,
) -> ScanSummary:
    matcher = _snapshot(config, store, resumed=state is not None)
    hash_types = config.resolve_hash_types(matcher.hash_types())
    banks = {b.name: b.version for b in matcher.banks}
    if state is None:
        state = {
            "format": "childsafe-scan/1",
            "fingerprint": config.fingerprint(),
            "config": config.describe(),
            "banks": banks,
            "hash_types": list(hash_types),
            "shards": [s.shard_id for s in shards],
            "started_at": started.isoformat(),
        }
        tmp = config.out / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=1), "utf-8")
        tmp.replace(config.out / STATE_FILE)
    parts_dir = config.out / PARTS_DIR
    parts_dir.mkdir(exist_ok=True)
    for stray in parts_dir.glob(f".*{TMP_SUFFIX}"):  # left by a killed worker
        stray.unlink(missing_ok=True)
    todo = [s for s in shards if find_part(parts_dir, s.shard_id) is None]
    resumed = len(shards) - len(todo)
    run_key = f"{config.fingerprint()}:{config.out.resolve()}:{os.getpid()}:{started.isoformat()}"
    task = build_task(config, readers, hash_types, run_key)
    # Local workers write parts to this machine's disk, where uncompressed is cheapest;
    # other executors' parts cross a network to shared storage (see ``scan.parts``).
    task.compress_parts = getattr(executor, "name", None) != "local"
    ctx = OutputContext(
        sources=tuple(config.sources),
        shards=tuple(shards),
        banks=banks,
        hash_types=hash_types,
        models=tuple(c.model for c in config.classifiers),
        policy_name=config.policy.name,
        policy_version=config.policy.version,
        config_fingerprint=config.fingerprint(),
        config=config.describe(),
        executor=getattr(executor, "name", type(executor).__name__),
        workers=int(getattr(executor, "workers", None) or config.workers or os.cpu_count() or 1),
        started_at=started,
        finished_at=started,  # both set when the shards are done
        shard_done=(),
        decoy_ratio=config.decoy_ratio,
        seed=config.seed,
        write_clean=config.write_clean,
    )
    merge = OutputMerge(config.out, ctx)
    feeder = MergeFeeder(merge, parts_dir, [s.shard_id for s in shards])
    done: list[ShardDone] = []
    try:
        feeder.finished({s.shard_id for s in shards} - {s.shard_id for s in todo})
        items = 0
        if progress is not None:
            progress(ScanProgress(len(shards), resumed, resumed, 0))
        for result in executor.map(task, todo):
            done.append(result)
            items += result.rows
            feeder.finished([result.shard_id])
            if progress is not None:
                progress(ScanProgress(len(shards), resumed + len(done), resumed, items))
        finished_at, began = datetime.now(UTC), time.monotonic()
        feeder.wait()
    except BaseException:
        feeder.cancel()
        merge.abort()
        raise
    return merge.finish(began, replace(ctx, finished_at=finished_at, shard_done=tuple(done)))
