"""The merge: from per-shard parts to a scan's outputs, in one streaming pass.

Workers leave one part per shard (RESULTS rows, one per input item; ``scan.parts``); the
workflow hands them to an :class:`OutputMerge` in shard order while later shards still run
(``scan.background``), or calls :func:`write_outputs` with all of them. Each part is read
batch by batch and written straight on to ``results.parquet``, ``quarantine.parquet``,
``errors.parquet`` and ``kept_ids.txt`` (and, with ``write_clean``, to clean copies of its
shard), so memory stays flat however many shards a scan has; small parts are gathered into
row groups of ``ROW_GROUP_ROWS`` so the Parquet footer does not grow a row group per shard.

Decisions map to outputs like this: ``allow`` is kept; ``block`` and ``review`` are
quarantined (and published, mixed with decoys, in the removal list); ``error`` is neither
kept nor removed but listed in ``errors.parquet`` to retry — an item nobody could check is
not clean. Every file is written under a ``.partial`` name and renamed when complete, so a
crash never leaves a valid-looking half output. No output holds content: ids, hashes,
provenance and reasons only (DESIGN rule 2).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from childsafe.classifiers.base import ModelInfo
from childsafe.errors import ScanOutputError
from childsafe.executors.base import ShardDone
from childsafe.readers.base import Shard
from childsafe.scan._kernels import blake2b64, string_buffers, unlistable
from childsafe.scan.clean import (
    CleanWriter,
    DecoyPool,
    Selection,
    atomic_text,
    write_removal_list,
)
from childsafe.scan.parts import read_part, shard_id_of
from childsafe.scan.report import render_report
from childsafe.scan.schema import DICTIONARY_COLUMNS, QUARANTINE_COLUMNS, RESULTS
from childsafe.scan.summary import (
    DECISIONS,
    DuplicateCounter,
    ScanSummary,
    Tally,
    document,
    value_counts,
)

__all__ = [
    "ERROR_COLUMNS",
    "OutputContext",
    "OutputMerge",
    "ScanOutputError",
    "ScanSummary",
    "write_outputs",
]

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 65_536
ERROR_COLUMNS: tuple[str, ...] = (
    "item_id", "source", "shard", "member", "row", "url", "kind", "decision", "reasons", "error",
)  # fmt: skip


def _installed_version() -> str:
    try:
        return version("childsafe")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True, slots=True)
class OutputContext:
    """Everything the outputs need besides the rows: provenance, versions, timing, options.

    ``banks`` maps bank name to the version the matcher snapshot reflects; ``shards`` are
    the scan's shards in order (a part's file stem is its ``shard_id``); ``shard_done`` are
    the workers' reports (a shard resumed from an earlier run has none). ``config`` must be
    JSON-able (non-JSON values are written with ``str``).
    """

    sources: tuple[str, ...]
    shards: tuple[Shard, ...]
    banks: Mapping[str, int | str]
    hash_types: tuple[str, ...]
    models: tuple[ModelInfo, ...]
    policy_name: str
    policy_version: str
    config_fingerprint: str
    config: Mapping[str, Any]
    executor: str
    workers: int
    started_at: datetime
    finished_at: datetime
    shard_done: tuple[ShardDone, ...] = ()
    decoy_ratio: float = 1.0
    seed: int = 0
    write_clean: bool = False
    childsafe_version: str = field(default_factory=_installed_version)

    def __post_init__(self) -> None:
        if not self.decoy_ratio >= 0:
            raise ValueError(f"decoy_ratio must be >= 0, got {self.decoy_ratio!r}")


class _Sink:
    """A Parquet file written in row groups of ``ROW_GROUP_ROWS``, renamed into place on close."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.rows = path, 0
        self._tmp = path.with_name(path.name + ".partial")
        dictionary = [n for n in schema.names if n in DICTIONARY_COLUMNS]
        self._writer = pq.ParquetWriter(
            self._tmp, schema, compression="zstd", use_dictionary=dictionary
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self.rows += batch.num_rows
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._writer.schema)
            self._writer.write_table(table, row_group_size=max(self._pending_rows, 1))
            self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._writer.close()
        self._tmp.unlink(missing_ok=True)


def _strings(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    return [v for v in array.to_pylist() if v is not None]


def _select(columns: Sequence[str]) -> pa.Schema:
    return pa.schema([RESULTS.field(c) for c in columns])


_QUARANTINED = pa.array(["block", "review"])


@dataclass(slots=True)
class _Part:
    """What one part contributes: its counts and, for clean copies, what it allows."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    keep_members: set[str] = field(default_factory=set)
    drop_members: set[str] = field(default_factory=set)
    keep_rows: set[int] = field(default_factory=set)
    rows: tuple[int, int, int] = (0, 0, 0)  # rows with a row number, smallest, largest


def _select_clean(batch: pa.RecordBatch, allow: np.ndarray | None, acc: _Part) -> None:
    """Gather what the clean copy of this batch's shard may keep (members, row numbers)."""
    members, rows = batch["member"], batch["row"]
    if allow is None:  # every row allowed
        acc.keep_members.update(_strings(members))
        acc.keep_rows.update(_strings(rows))
    else:
        mask = pa.array(allow)
        acc.keep_members.update(_strings(members.filter(mask)))
        acc.drop_members.update(_strings(members.filter(pc.invert(mask))))
        acc.keep_rows.update(_strings(rows.filter(mask)))
    n = len(rows) - rows.null_count
    if n:
        low, high = pc.min_max(rows).values()
        count, lo, hi = acc.rows
        acc.rows = (
            count + n,
            min(lo, low.as_py()) if count else low.as_py(),
            max(hi, high.as_py()) if count else high.as_py(),
        )


class OutputMerge:
    """One streaming pass over the parts; ``finish`` writes the derived files.

    Call :meth:`part` once per part in shard order (it may run while later shards are still
    being scanned: see ``scan.background``), then :meth:`finish`, or :meth:`abort` on failure.
    Until ``finish`` every output exists only under a ``.partial`` name.
    """

    def __init__(self, out_dir: Path, ctx: OutputContext) -> None:
        self.out, self.ctx = out_dir, ctx
        self.work = out_dir / ".outputs-work"
        shutil.rmtree(self.work, ignore_errors=True)
        self.shards = {s.shard_id: s for s in ctx.shards}
        self.tally, self.dups = Tally(), DuplicateCounter(self.work / "ids")
        self.clean = CleanWriter(out_dir / "clean", ctx.shards) if ctx.write_clean else None
        self.removals: set[str] = set()
        self.decoys = DecoyPool(ctx.seed)
        self.kept = self.unlisted = 0
        self.warnings: list[str] = []
        self.shard_entries: list[dict[str, Any]] = []
        self.sinks = {
            "results": _Sink(out_dir / "results.parquet", RESULTS),
            "quarantine": _Sink(out_dir / "quarantine.parquet", _select(QUARANTINE_COLUMNS)),
            "errors": _Sink(out_dir / "errors.parquet", _select(ERROR_COLUMNS)),
        }
        self.kept_tmp = out_dir / "kept_ids.txt.partial"
        self.kept_file = self.kept_tmp.open("wb")  # UTF-8 lines straight from Arrow

    def part(self, part: Path) -> None:
        shard_id = shard_id_of(part)
        acc = _Part()
        for batch in read_part(part, ROW_GROUP_ROWS):
            self._batch(part, batch, acc)
        shard = self.shards.get(shard_id)
        if self.clean is not None and shard is None:
            self.warnings.append(f"no clean copy for part {part.name}: no shard {shard_id!r}")
        elif self.clean is not None and shard is not None:
            sel = Selection(
                frozenset(acc.keep_members),
                frozenset(acc.drop_members),
                frozenset(acc.keep_rows),
                acc.rows,
            )
            self.clean.add(shard, sel)
        entry: dict[str, Any] = {"shard_id": shard_id, "part": part.name}
        if shard is not None:
            entry.update(source=shard.source, path=shard.path, reader=shard.reader)
        entry.update(rows=sum(acc.counts.values()), **acc.counts)
        entry["quarantined"] = acc.counts["block"] + acc.counts["review"]
        self.shard_entries.append(entry)

    def _batch(self, part: Path, batch: pa.RecordBatch, acc: _Part) -> None:
        decision = batch["decision"]
        counts = value_counts(decision)
        if decision.null_count or set(counts) - set(DECISIONS):
            bad = sorted(str(v) for v in counts if v not in DECISIONS)
            bad += ["null"] if decision.null_count else []
            raise ScanOutputError(f"part {part}: unknown decision(s) {', '.join(bad)}")
        for d, n in counts.items():
            acc.counts[d] += n
        self.sinks["results"].write(batch)
        self.tally.add(batch, counts)
        ids = batch["item_id"]
        # Ids are checked, hashed and written column-wise (numba over Arrow's buffers): a
        # Python ``str``, a ``listable`` call and two BLAKE2b calls per id were most of the
        # merge. One seeded BLAKE2b-64 per id serves both the duplicate count and the decoys.
        offsets, data = string_buffers(ids)
        ok = ~unlistable(offsets, data)
        present = (
            np.asarray(pc.is_valid(ids), np.bool_)
            if ids.null_count
            else np.ones(len(ids), np.bool_)
        )
        priority = blake2b64(offsets, data, self.decoys.key)
        self.dups.add_digests(priority[present] if ids.null_count else priority)
        if counts.get("allow", 0) == batch.num_rows:  # the common case: nothing to filter out
            allow = None
            keep = present
        else:
            allow = np.asarray(pc.equal(decision, "allow"), np.bool_)
            self._set_aside(batch, present & ok, present & ~ok)
            keep = allow & present
        self.unlisted += int(np.count_nonzero(keep & ~ok))
        self._keep(ids, keep & ok, priority)
        if self.clean is not None:
            _select_clean(batch, allow, acc)

    def _set_aside(self, batch: pa.RecordBatch, listable: np.ndarray, unlisted: np.ndarray) -> None:
        """Quarantined and errored rows to their files; quarantined ids to the removal list.

        Only the columns each file keeps are filtered (filtering the whole batch copied
        every column of every row once per batch holding a single match).
        """
        decision = batch["decision"]
        quarantined = np.asarray(pc.is_in(decision, value_set=_QUARANTINED), np.bool_)
        if quarantined.any():
            rows = pa.array(quarantined)
            self.sinks["quarantine"].write(batch.select(QUARANTINE_COLUMNS).filter(rows))
            ids = batch["item_id"]
            self.removals.update(ids.filter(pa.array(quarantined & listable)).to_pylist())
            self.unlisted += int(np.count_nonzero(quarantined & unlisted))
        errored = pc.equal(decision, "error")
        if pc.any(errored).as_py():
            self.sinks["errors"].write(batch.select(ERROR_COLUMNS).filter(errored))

    def _keep(self, ids: pa.Array, keep: np.ndarray, priority: np.ndarray) -> None:
        """Append the kept ids to ``kept_ids.txt`` and offer them to the decoy pool."""
        every = bool(keep.all())
        kept = ids if every else ids.filter(pa.array(keep))
        if len(kept):
            self.decoys.grow(4 * int(self.ctx.decoy_ratio * len(self.removals) + 1))
            self.decoys.add(kept, priority if every else priority[keep])
            lines = pc.binary_join_element_wise(kept, "", "\n")  # "<id>\n" per id
            line_offsets, line_data = string_buffers(lines)
            self.kept_file.write(line_data[line_offsets[0] : line_offsets[-1]].data)
            self.kept += len(kept)

    def finish(self, began: float, ctx: OutputContext | None = None) -> ScanSummary:
        """Write the derived outputs; ``ctx`` (if given) replaces the context's clock values.

        ``began`` is the ``time.monotonic()`` the caller counts ``outputs_seconds`` from.
        """
        if ctx is not None:
            self.ctx = ctx
        for sink in self.sinks.values():
            sink.close()
        self.kept_file.close()
        self.kept_tmp.replace(self.out / "kept_ids.txt")
        ctx = self.ctx
        removal_count = write_removal_list(
            self.out,
            self.removals,
            self.out / "kept_ids.txt",
            ctx.decoy_ratio,
            ctx.seed,
            self.decoys,
        )
        clean_stats = self.clean.close() if self.clean is not None else {}
        duplicates = self.dups.count()
        shutil.rmtree(self.work, ignore_errors=True)
        if duplicates:
            self.warnings.append(f"{duplicates} rows repeat an earlier row's item_id (kept)")
        if self.unlisted:
            self.warnings.append(
                f"{self.unlisted} item ids contain line breaks and are missing from "
                "kept_ids.txt / removal_list.txt (they are in results.parquet, never kept)"
            )
        if self.clean is not None:
            self.warnings += self.clean.warnings
        for message in self.warnings:
            log.warning("scan outputs: %s", message)
        outputs = {
            **{name: f"{name}.parquet" for name in self.sinks},
            "kept_ids": "kept_ids.txt",
            "removal_list": {"file": "removal_list.txt", "count": removal_count},
            "clean": {f"clean/{k}": v for k, v in clean_stats.items()},
        }
        data = document(
            self.tally,
            ctx,
            items={"kept": self.kept, "duplicate_ids": duplicates},
            shards=self.shard_entries,
            outputs=outputs,
            warnings=self.warnings,
            merge_seconds=time.monotonic() - began,
        )
        atomic_text(self.out / "summary.json", json.dumps(data, indent=2, default=str) + "\n")
        atomic_text(self.out / "report.html", render_report(data))
        return ScanSummary.from_data(self.out, json.loads(json.dumps(data, default=str)))

    def abort(self) -> None:
        """Remove every half-written file, so a failed merge leaves nothing that looks done."""
        self.kept_file.close()
        self.kept_tmp.unlink(missing_ok=True)
        for sink in self.sinks.values():
            sink.abort()
        shutil.rmtree(self.work, ignore_errors=True)


def write_outputs(out_dir: Path, parts: Sequence[Path], ctx: OutputContext) -> ScanSummary:
    """Merge ``parts`` (in the order given: shard order) into the scan's outputs in ``out_dir``.

    Raises :class:`ScanOutputError` naming the part when a part breaks the RESULTS contract
    (half-written files are removed). A clean copy that cannot be written safely is skipped
    with a warning instead: the results themselves are complete.
    """
    began = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    merge = OutputMerge(out_dir, ctx)
    try:
        for part in parts:
            merge.part(Path(part))
    except BaseException:
        merge.abort()
        raise
    return merge.finish(began)
