"""Counting a scan's result rows into ``summary.json``, one record batch at a time.

Why counts are gathered batch by batch with Arrow kernels: the merge streams parts and must
keep memory flat however many items a scan has, so nothing here holds rows — only counters
keyed by a few distinct values (decisions, reasons, banks, error kinds) and one small record
per shard. The summary's deterministic part (everything but ``timing``) depends only on the
rows and the configuration, never on the executor, worker count or clock, so two runs over
the same input can be compared byte for byte once ``timing`` is dropped.
"""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from childsafe.scan._kernels import blake2b64, string_buffers

if TYPE_CHECKING:
    from childsafe.scan.outputs import OutputContext

SUMMARY_FORMAT = "childsafe-scan-summary/1"
DECISIONS: tuple[str, ...] = ("allow", "review", "block", "error")
MAX_ERROR_KINDS = 50
"""Error kinds past this many are folded into ``(other)`` so a summary stays readable even
when a reader puts item names into its messages."""


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """What ``write_outputs`` hands back: the headline numbers and the full ``summary.json``.

    ``data`` is exactly what was written to ``summary.json``; the other fields are the
    numbers a CLI prints and an exit code depends on (errors mean a partial scan).
    """

    out_dir: Path
    items: int
    by_decision: dict[str, int]
    quarantined: int
    errors: int
    kept: int
    duplicate_ids: int
    removal_list_size: int
    warnings: tuple[str, ...]
    data: dict[str, Any]

    @classmethod
    def from_data(cls, out_dir: Path, data: dict[str, Any]) -> ScanSummary:
        items = data["items"]
        return cls(
            out_dir=out_dir,
            items=items["total"],
            by_decision={d: items[d] for d in DECISIONS},
            quarantined=items["quarantined"],
            errors=items["error"],
            kept=items["kept"],
            duplicate_ids=items["duplicate_ids"],
            removal_list_size=data["outputs"]["removal_list"]["count"],
            warnings=tuple(data["warnings"]),
            data=data,
        )

    @property
    def deterministic(self) -> dict[str, Any]:
        """The summary without ``timing``: identical for identical input and configuration."""
        return {k: v for k, v in self.data.items() if k != "timing"}


def error_kind(error: str | None, reasons: list[str] | None) -> str:
    """A short, stable kind for an error row.

    Why not the message: messages name the item (DESIGN rule 5), which would make every
    error its own kind. An ``error:<kind>`` reason from the policy is preferred; otherwise
    the message's first word (up to a colon), which by convention is the exception name.
    """
    for reason in reasons or ():
        if reason.startswith("error:") and len(reason) > 6:
            return reason[6:70]
    words = (error or "").strip().split(None, 1)
    if not words:
        return "unknown"
    return words[0].rstrip(":,.;")[:64] or "unknown"


def value_counts(array: pa.Array | pa.ChunkedArray) -> Counter[str]:
    out: Counter[str] = Counter()
    for entry in pc.value_counts(array).to_pylist():
        if entry["values"] is not None:
            out[str(entry["values"])] += int(entry["counts"])
    return out


class Tally:
    """Counters over every row written; ``add`` takes one batch of RESULTS rows."""

    def __init__(self) -> None:
        self.decisions: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.bank_matches: Counter[tuple[str, str]] = Counter()
        self.bank_items: Counter[str] = Counter()

    @property
    def items(self) -> int:
        return sum(self.decisions.values())

    def add(self, batch: pa.RecordBatch, decisions: Counter[str]) -> None:
        """Count one batch; ``decisions`` are its decision counts (the caller has them)."""
        self.decisions.update(decisions)
        reasons = pc.list_flatten(batch["reasons"])
        if len(reasons):
            self.reasons.update(value_counts(reasons))
        if decisions.get("error"):
            errored = batch.filter(pc.equal(batch["decision"], "error"))
            for error, why in zip(
                errored["error"].to_pylist(), errored["reasons"].to_pylist(), strict=True
            ):
                self.errors[error_kind(error, why)] += 1
        matches = batch["matches"]
        flat = pc.list_flatten(matches)
        if len(flat):  # matches are rare: plain Python over them is cheaper than a group-by
            parents = pc.list_parent_indices(matches).to_pylist()
            banks = [b or "(unnamed)" for b in flat.field("bank").to_pylist()]
            types = [t or "(unknown)" for t in flat.field("hash_type").to_pylist()]
            self.bank_matches.update(zip(banks, types, strict=True))
            self.bank_items.update(b for _, b in set(zip(parents, banks, strict=True)))

    def reason_section(self) -> dict[str, dict[str, int]]:
        prefixes: Counter[str] = Counter()
        for reason, n in self.reasons.items():
            prefixes[reason.split(":", 1)[0]] += n
        return {"by_prefix": _sorted(prefixes), "by_reason": _sorted(self.reasons)}

    def error_section(self) -> dict[str, Any]:
        ranked = sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = dict(ranked[:MAX_ERROR_KINDS])
        rest = sum(n for _, n in ranked[MAX_ERROR_KINDS:])
        if rest:
            kinds["(other)"] = rest
        return {"total": self.decisions.get("error", 0), "by_kind": kinds}

    def bank_section(self, versions: dict[str, int | str]) -> list[dict[str, Any]]:
        """One entry per bank matched against (with its version) or seen in a match."""
        names = sorted(set(versions) | {b for b, _ in self.bank_matches})
        out = []
        for name in names:
            by_type = {t: n for (b, t), n in sorted(self.bank_matches.items()) if b == name}
            out.append(
                {
                    "name": name,
                    "version": versions.get(name),
                    "matches": sum(by_type.values()),
                    "items": self.bank_items.get(name, 0),
                    "by_hash_type": by_type,
                }
            )
        return out


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


class DuplicateCounter:
    """Counts rows whose ``item_id`` was already seen, in bounded memory.

    Why spill to disk: a set of every id grows with the dataset (billions of rows for a
    LAION-scale scan). Each id becomes a 64-bit BLAKE2b digest, appended to one of 256
    bucket files by its top byte; at the end each bucket is sorted on its own, so memory
    is 1/256 of 8 bytes per row. A false duplicate needs a 64-bit collision: about 0.03
    expected at a billion distinct ids, which the summary's wording ("about") allows.
    """

    BUCKETS = 256
    FLUSH_ROWS = 1 << 20

    def __init__(self, work_dir: Path) -> None:
        self._dir = work_dir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._pending: list[np.ndarray] = []
        self._pending_rows = 0

    def add(self, ids: pa.Array | pa.ChunkedArray | list[str | None]) -> None:
        """Count a batch of ids (nulls are skipped): an Arrow string column, or a list.

        Digests come from one numba pass over the column's buffers (``_kernels.blake2b64``,
        the same BLAKE2b-64 as ``hashlib``), not a ``str`` and a hashlib call per id.
        """
        arr = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, pa.string())
        offsets, data = string_buffers(arr)
        digests = blake2b64(offsets, data)
        if arr.null_count:
            digests = digests[np.asarray(pc.is_valid(arr), np.bool_)]
        self.add_digests(digests)

    def add_digests(self, digests: np.ndarray) -> None:
        """Count ids already hashed to 64 bits by the caller (any well-mixed hash will do).

        The merge passes the seeded BLAKE2b-64 it computes for the decoy draw anyway, so
        each id is hashed once, not twice; a keyed BLAKE2b collides no more than an unkeyed.
        """
        self._pending.append(np.asarray(digests, np.uint64))
        self._pending_rows += len(digests)
        if self._pending_rows >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending_rows:
            return
        values = np.sort(np.concatenate(self._pending))
        buckets = (values >> np.uint64(56)).astype(np.int64)
        bounds = np.searchsorted(buckets, np.arange(self.BUCKETS + 1))
        for b in range(self.BUCKETS):
            lo, hi = int(bounds[b]), int(bounds[b + 1])
            if hi > lo:
                with (self._dir / f"{b:02x}.u64").open("ab") as f:
                    f.write(values[lo:hi].tobytes())
        self._pending, self._pending_rows = [], 0

    def count(self) -> int:
        """Rows whose id repeats an earlier row's (n copies of one id count n - 1)."""
        self._flush()
        total = 0
        for path in sorted(self._dir.glob("*.u64")):
            values = np.sort(np.fromfile(path, dtype=np.uint64))
            total += int(np.count_nonzero(values[1:] == values[:-1]))
        return total


def reproducibility(ctx: OutputContext) -> dict[str, Any]:
    """What someone needs to re-run this scan and get the same rows (no clock values)."""
    return {
        "childsafe_version": ctx.childsafe_version,
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "sources": list(ctx.sources),
        "shard_count": len(ctx.shards),
        "banks": [{"name": n, "version": v} for n, v in sorted(ctx.banks.items())],
        "hash_types": sorted(ctx.hash_types),
        "models": [
            {"name": m.name, "version": m.version, "licence": m.licence}
            for m in sorted(ctx.models, key=lambda m: (m.name, m.version))
        ],
        "policy": {"name": ctx.policy_name, "version": ctx.policy_version},
        "config_fingerprint": ctx.config_fingerprint,
        "config": dict(ctx.config),
        "removal_list": {
            "decoy_ratio": ctx.decoy_ratio,
            "seed": ctx.seed,
            "note": "private: with the seed the decoys can be recomputed",
        },
        "write_clean": ctx.write_clean,
    }


def timing(ctx: OutputContext, items: int, merge_seconds: float) -> dict[str, Any]:
    """Clock values, kept apart so the rest of the summary compares equal across runs.

    The executor and worker count are here too: both executors must produce identical
    results, so they describe how the scan ran, not what it found.
    """
    seconds = max((ctx.finished_at - ctx.started_at).total_seconds(), 0.0)
    worker_seconds = sum(d.seconds for d in ctx.shard_done)
    return {
        "started_at": ctx.started_at.isoformat(),
        "finished_at": ctx.finished_at.isoformat(),
        "seconds": round(seconds, 3),
        "items_per_second": round(items / seconds, 3) if seconds > 0 else None,
        "worker_seconds": round(worker_seconds, 3),
        "items_per_worker_second": (
            round(items / worker_seconds, 3) if worker_seconds > 0 else None
        ),
        "executor": ctx.executor,
        "workers": ctx.workers,
        "shards": {
            d.shard_id: {"seconds": round(d.seconds, 3), "rows": d.rows, "counters": d.counters}
            for d in ctx.shard_done
        },
        "resumed_shards": len(
            {s.shard_id for s in ctx.shards} - {d.shard_id for d in ctx.shard_done}
        ),
        "outputs_seconds": round(merge_seconds, 3),
    }


def document(
    tally: Tally,
    ctx: OutputContext,
    *,
    items: dict[str, int],
    shards: list[dict[str, Any]],
    outputs: dict[str, Any],
    warnings: list[str],
    merge_seconds: float,
) -> dict[str, Any]:
    """The ``summary.json`` document; only ``timing`` depends on the clock or the executor."""
    decisions = {d: tally.decisions.get(d, 0) for d in DECISIONS}
    return {
        "format": SUMMARY_FORMAT,
        "items": {
            "total": tally.items,
            **decisions,
            "quarantined": decisions["block"] + decisions["review"],
            **items,
        },
        "reasons": tally.reason_section(),
        "banks": tally.bank_section(dict(ctx.banks)),
        "errors": tally.error_section(),
        "shards": shards,
        "outputs": outputs,
        "reproducibility": reproducibility(ctx),
        "warnings": warnings,
        "timing": timing(ctx, tally.items, merge_seconds),
    }
