"""Clean outputs: the decoy-mixed removal list and clean copies of the scanned shards.

The clean side is an allow-list, never a deny-list: a tar member or table row is copied
only when its key or row is positively listed as ``allow`` in the shard's results, so an
item nobody could check (an ``error`` row), a member the reader never turned into an item,
or a row whose number does not map cleanly is left out rather than let through. Nothing is
extracted to disk: tar members stream from the source tar into the clean tar, and
non-regular members (symlinks, hard links, devices) and unsafe names (absolute, ``..``) are
never copied, so a hostile tar cannot point the clean copy at anything outside itself.

The removal list follows Re-LAION: the ids to drop are published mixed with decoys drawn
from kept ids, sorted, so the list does not say which items were the illegal ones. Which ids
are decoys is recorded nowhere; the seed that chose them stays in the private summary.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.ipc
import pyarrow.json as pjson
import pyarrow.parquet as pq

from childsafe.errors import ChildsafeError
from childsafe.readers.base import Shard
from childsafe.scan._kernels import blake2b64

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".arrow")
REMOVAL_NOTE = (
    "Item ids to remove, mixed with decoy ids drawn from items that were kept, sorted; "
    "the list deliberately does not say which ids are which."
)


class CleanMappingError(ChildsafeError):
    """A shard's results cannot be mapped onto its source safely; its clean copy is skipped."""


def bottom_k(lines: Iterable[str], k: int, seed: int, exclude: set[str]) -> list[str]:
    """The ``k`` distinct ids with the smallest seeded BLAKE2b priority, skipping ``exclude``.

    Why keyed priorities rather than ``random.sample``: the choice depends only on the set of
    ids and the seed (not on their order), it streams in O(k) memory over a file of any
    length, and without the seed nobody can recompute it — which is why the seed stays in
    the private summary and never goes into the published removal list metadata.
    """
    if k <= 0:
        return []
    key = str(seed).encode()
    heap: list[tuple[int, str]] = []  # max-heap on priority via negation
    chosen: set[str] = set()
    for line in lines:
        item_id = line.rstrip("\n")
        if not item_id or item_id in exclude or item_id in chosen:
            continue
        digest = hashlib.blake2b(item_id.encode(), key=key, digest_size=8).digest()
        priority = int.from_bytes(digest, "big")
        if len(heap) < k:
            heapq.heappush(heap, (-priority, item_id))
            chosen.add(item_id)
        elif priority < -heap[0][0]:
            _, dropped = heapq.heapreplace(heap, (-priority, item_id))
            chosen.discard(dropped)
            chosen.add(item_id)
    return [item_id for _, item_id in heap]


class DecoyPool:
    """The lowest-priority kept ids seen so far, gathered during the merge (no file re-read).

    Why: ``bottom_k`` needs every kept id's keyed priority, but the merge already has the
    ids in Arrow buffers and hashes them once anyway (the duplicate counter uses the same
    digests), so reading ``kept_ids.txt`` back would hash them all a second time. The pool
    keeps every id whose priority is at most ``limit``; when it outgrows ``2 * cap`` it is
    cut back to the ``cap`` smallest and ``limit`` lowered. Neither the number of decoys
    wanted nor the excluded ids are known before the merge ends, so :meth:`choose` answers
    only when the pool provably holds the answer (``k`` usable ids at or below ``limit``)
    and returns None otherwise; the caller then scans the file with :func:`bottom_k_file`.
    """

    def __init__(self, seed: int, cap: int = 4096) -> None:
        self.key = str(seed).encode()
        self.cap = cap
        self.limit: int | None = None  # None: nothing dropped yet, every id is in the pool
        self.pool: dict[str, int] = {}

    def add(self, ids: pa.Array, priority: np.ndarray) -> None:
        """Offer kept ids (non-null, listable) with their ``blake2b64(id, key)`` priorities."""
        if self.limit is None:
            take = np.arange(len(ids))
        else:
            take = np.flatnonzero(priority <= np.uint64(self.limit))
        if len(take) == 0:
            return
        chosen = ids.take(pa.array(take)).to_pylist()
        self.pool.update(zip(chosen, priority[take].tolist(), strict=True))
        if len(self.pool) > 2 * self.cap:
            values = np.fromiter(self.pool.values(), np.uint64, len(self.pool))
            limit = int(np.partition(values, self.cap - 1)[self.cap - 1])
            self.pool = {i: p for i, p in self.pool.items() if p <= limit}
            self.limit = limit

    def grow(self, wanted: int) -> None:
        """Keep at least ``wanted`` ids from now on (the removals seen so far call for it)."""
        self.cap = max(self.cap, wanted)

    def choose(self, k: int, exclude: set[str]) -> list[str] | None:
        """``bottom_k(kept ids, k, seed, exclude)``, or None if the pool cannot tell."""
        if k <= 0:
            return []
        usable = sorted((p, i) for i, p in self.pool.items() if i not in exclude)
        if len(usable) < k and self.limit is not None:
            return None  # ids above the limit were dropped: the answer may be among them
        return [i for _, i in usable[:k]]


def bottom_k_file(
    path: Path, k: int, seed: int, exclude: set[str], block_bytes: int = 32 << 20
) -> list[str]:
    """:func:`bottom_k` over the lines of ``path`` (``kept_ids.txt``), block by block.

    The same choice as ``bottom_k`` (the reference, kept for that and tested against it):
    the same keyed BLAKE2b-64 priority, computed by one numba pass per block of lines
    (``_kernels.blake2b64``) instead of a ``str`` and a hashlib call per line. Only the few
    lowest priorities of a block become Python strings: the block's ``k`` smallest
    *usable* ids (not excluded, distinct) are found by walking its priorities in order,
    merged into a pool of at most ``k`` and the rest discarded, so memory is one block.
    (Two different ids with equal 64-bit priorities could be ordered differently from the
    heap's streaming order: about ``n**2 / 2**65`` odds, nil for any real scan.)
    """
    if k <= 0:
        return []
    key = str(seed).encode()
    pool: dict[str, int] = {}
    limit: int | None = None  # the pool's largest priority once it holds k ids
    with path.open("rb") as f:
        rest = b""
        while True:
            chunk = f.read(block_bytes)
            buf = rest + chunk
            cut = len(buf) if not chunk else buf.rfind(b"\n") + 1
            rest = buf[cut:]
            if cut:
                limit = _bottom_k_block(buf[:cut], k, key, exclude, pool, limit)
            if not chunk:
                return list(pool)


def _bottom_k_block(
    block: bytes, k: int, key: bytes, exclude: set[str], pool: dict[str, int], limit: int | None
) -> int | None:
    raw = np.frombuffer(block, np.uint8)
    newline = raw == 10
    ends = np.flatnonzero(newline)
    if not len(ends) or ends[-1] != len(raw) - 1:  # a last line without its newline
        ends = np.append(ends, len(raw))
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts
    data = raw[~newline]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    priority = blake2b64(offsets, data, key)
    cand = np.flatnonzero(lengths > 0)
    if limit is not None:
        cand = cand[priority[cand] <= np.uint64(limit)]
    cand = cand[np.argsort(priority[cand], kind="stable")]
    usable: set[str] = set()
    for i in cand.tolist():  # ascending priority: stop after the block's k usable ids
        item_id = bytes(data[offsets[i] : offsets[i + 1]]).decode("utf-8")
        if item_id in exclude or item_id in usable:
            continue
        usable.add(item_id)
        pool[item_id] = int(priority[i])
        if len(usable) == k:
            break
    if len(pool) > k:
        for item_id, _ in sorted(pool.items(), key=lambda kv: kv[1])[k:]:
            del pool[item_id]
    return max(pool.values()) if len(pool) == k else None


def write_removal_list(
    out_dir: Path,
    removals: set[str],
    kept_ids: Path,
    ratio: float,
    seed: int,
    pool: DecoyPool | None = None,
) -> int:
    """Write ``removal_list.txt`` and its metadata; returns the number of ids listed.

    Decoys come from ``pool`` (filled during the merge) when it can tell, else from a
    columnar pass over ``kept_ids``; both choose exactly what :func:`bottom_k` chooses.
    """
    wanted = int(ratio * len(removals) + 0.5)
    decoys = pool.choose(wanted, removals) if pool is not None else None
    if decoys is None:
        decoys = bottom_k_file(kept_ids, wanted, seed, removals)
    ids = sorted(removals.union(decoys))
    write_lines(out_dir / "removal_list.txt", ids)
    meta = {"format": "one item id per line, sorted", "count": len(ids), "decoy_ratio": ratio}
    meta["note"] = REMOVAL_NOTE
    atomic_text(out_dir / "removal_list.json", json.dumps(meta, indent=2) + "\n")
    return len(ids)


def atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    tmp.replace(path)


def listable(value: str) -> bool:
    """Whether ``value`` can be one line of a text list (no line breaks, no NUL)."""
    return not any(c in value for c in "\n\r\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def wds_key(member: str) -> str:
    """WebDataset's grouping key: the member path up to the first dot of its base name."""
    member = member.removeprefix("./")
    head, sep, base = member.rpartition("/")
    return f"{head}{sep}{base.split('.', 1)[0]}"


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def shard_format(shard: Shard) -> str:
    """``tar``, ``table``, ``folder`` or ``unknown``: what kind of clean copy a shard gets."""
    lower = shard.path.lower()
    if lower.endswith(TAR_SUFFIXES):
        return "tar"
    if lower.endswith(TABLE_SUFFIXES):
        return "table"
    if shard.reader in ("folder", "directory", "files") or Path(shard.path).is_dir():
        return "folder"
    return "unknown"


@dataclass(frozen=True, slots=True)
class Selection:
    """What one shard's results allow: tar keys / folder members and table rows."""

    keep_members: frozenset[str]
    drop_members: frozenset[str]
    keep_rows: frozenset[int]
    rows: tuple[int, int, int]  # (result rows with a row number, smallest, largest)


def rewrite_tar(src: Path, dst: Path, sel: Selection) -> dict[str, int]:
    """Stream ``src`` into ``dst`` keeping only regular members of allowed keys."""
    keep = {wds_key(m) for m in sel.keep_members} - {wds_key(m) for m in sel.drop_members}
    stats = {"members": 0, "copied": 0, "dropped": 0, "unsafe": 0}
    seen: set[str] = set()
    tmp = dst.with_name(dst.name + ".partial")
    mode = "w|gz" if dst.name.endswith((".gz", ".tgz")) else "w|"
    with tarfile.open(src, "r|*") as tin, tarfile.open(tmp, mode) as tout:  # type: ignore[call-overload]
        for member in tin:
            stats["members"] += 1
            if not member.isreg() or not _safe_member(member.name):
                stats["unsafe"] += 1
                continue
            key = wds_key(member.name)
            if key not in keep:
                stats["dropped"] += 1
                continue
            info = tarfile.TarInfo(member.name.removeprefix("./"))
            info.size, info.mtime, info.mode = member.size, int(member.mtime), 0o644
            tout.addfile(info, tin.extractfile(member))
            stats["copied"] += 1
            seen.add(key)
    tmp.replace(dst)
    stats["kept_keys_missing"] = len(keep - seen)
    return stats


def _table_batches(
    path: Path, start: int, stop: int | None
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """``(first row number, batch)`` over a table file, skipping Parquet row groups early."""
    lower = path.name.lower()
    offset = 0
    batches: Iterable[pa.RecordBatch]
    if lower.endswith((".parquet", ".pq")):
        pf = pq.ParquetFile(path)
        groups, first = [], None
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if offset + n > start and (stop is None or offset < stop):
                groups.append(g)
                first = offset if first is None else first
            offset += n
        offset = first or 0
        batches = pf.iter_batches(row_groups=groups) if groups else ()
    elif lower.endswith((".csv", ".tsv")):
        parse = pcsv.ParseOptions(delimiter="\t" if lower.endswith(".tsv") else ",")
        with pcsv.open_csv(path, parse_options=parse) as probe:
            names = probe.schema.names
        convert = pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
        batches = pcsv.open_csv(path, parse_options=parse, convert_options=convert)
    elif lower.endswith(".arrow"):  # Hugging Face datasets write the IPC stream format
        try:
            batches = pyarrow.ipc.open_stream(pa.OSFile(str(path)))
        except pa.ArrowInvalid:
            ipc = pyarrow.ipc.open_file(pa.OSFile(str(path)))
            batches = (ipc.get_batch(i) for i in range(ipc.num_record_batches))
    else:
        batches = pjson.open_json(path)
    for batch in batches:
        yield offset, batch
        offset += batch.num_rows


class CleanWriter:
    """Writes ``clean/``: one call per shard (in shard order), then ``close``."""

    def __init__(self, clean_dir: Path, shards: Sequence[Shard]) -> None:
        self.dir = clean_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.outputs: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self._names: dict[str, str] = {}
        self._tables: dict[str, pq.ParquetWriter] = {}
        self._failed: set[str] = set()
        folders = [s.source for s in shards if shard_format(s) == "folder"]
        self._folder_root = os.path.commonpath(folders) if folders else ""
        self._kept_files: Any = None

    def _name(self, path: str, suffix: str) -> str:
        """A unique output name per source file: its own name, numbered on a clash."""
        if path not in self._names:
            base = Path(path).name
            for ext in (*TAR_SUFFIXES, *TABLE_SUFFIXES):
                if base.lower().endswith(ext):
                    base = base[: -len(ext)]
                    break
            name, n = f"{base}{suffix}", 1
            while name in self._names.values():
                n += 1
                name = f"{base}-{n}{suffix}"
            self._names[path] = name
        return self._names[path]

    def add(self, shard: Shard, sel: Selection) -> None:
        kind = shard_format(shard)
        if kind == "unknown":
            self.warnings.append(f"no clean copy for shard {shard.shard_id!r}: unknown format")
            return
        if kind == "folder":
            self._add_folder(shard, sel)
            return
        lower = shard.path.lower()
        ext = next((e for e in TAR_SUFFIXES if lower.endswith(e)), ".tar")
        name = self._name(shard.path, ext if kind == "tar" else ".parquet")
        if name in self._failed:
            return
        try:
            if kind == "tar":
                stats = self.outputs[name] = rewrite_tar(Path(shard.path), self.dir / name, sel)
                if stats["kept_keys_missing"]:
                    n = stats["kept_keys_missing"]
                    self.warnings.append(f"clean/{name}: {n} allowed keys not found in the tar")
            else:
                self._add_table(shard, sel, name)
        except (ChildsafeError, OSError, tarfile.TarError, pa.ArrowException) as exc:
            self._fail(name, f"shard {shard.shard_id!r}: {type(exc).__name__}: {exc}")

    def _fail(self, name: str, why: str) -> None:
        self._failed.add(name)
        self.outputs.pop(name, None)
        writer = self._tables.pop(name, None)
        if writer is not None:
            writer.close()
        for path in (self.dir / name, self.dir / f"{name}.partial"):
            path.unlink(missing_ok=True)
        self.warnings.append(f"clean/{name} not written: {why}")

    def _add_table(self, shard: Shard, sel: Selection, name: str) -> None:
        count, low, high = sel.rows
        stop = shard.stop
        if count and (low < shard.start or (stop is not None and high >= stop)):
            msg = f"result rows {low}..{high} outside the shard's range {shard.start}..{stop}"
            raise CleanMappingError(msg)
        stats = self.outputs.setdefault(name, {"rows": 0, "copied": 0})
        read = 0
        for first, batch in _table_batches(Path(shard.path), shard.start, stop):
            numbers = range(first, first + batch.num_rows)
            in_shard = [shard.start <= i and (stop is None or i < stop) for i in numbers]
            keep = [ok and i in sel.keep_rows for ok, i in zip(in_shard, numbers, strict=True)]
            read += sum(in_shard)
            writer = self._tables.get(name)
            if (
                writer is None
            ):  # opened on the first batch, so an all-removed table keeps its schema
                tmp = self.dir / f"{name}.partial"
                writer = self._tables[name] = pq.ParquetWriter(tmp, batch.schema)
            if any(keep):
                writer.write_batch(batch.filter(pa.array(keep)).cast(writer.schema))
                stats["copied"] += sum(keep)
        if read != count:
            msg = f"the source has {read} rows in range but the results have {count}"
            raise CleanMappingError(msg)
        stats["rows"] += read

    def _add_folder(self, shard: Shard, sel: Selection) -> None:
        if self._kept_files is None:
            self._kept_files = (self.dir / "kept_files.txt.partial").open("w", encoding="utf-8")
            self.outputs["kept_files.txt"] = {"files": 0, "unlisted": 0}
        stats = self.outputs["kept_files.txt"]
        prefix = os.path.relpath(shard.source, self._folder_root) if self._folder_root else "."
        for member in sorted(sel.keep_members - sel.drop_members):
            rel = member if prefix == "." else f"{PurePosixPath(prefix).as_posix()}/{member}"
            if listable(rel) and _safe_member(rel):
                self._kept_files.write(rel + "\n")
                stats["files"] += 1
            else:
                stats["unlisted"] += 1

    def close(self) -> dict[str, dict[str, Any]]:
        """Finish every clean file (atomically renamed into place); returns per-file stats."""
        for name, writer in sorted(self._tables.items()):
            writer.close()
            (self.dir / f"{name}.partial").replace(self.dir / name)
        self._tables.clear()
        if self._kept_files is not None:
            self._kept_files.close()
            (self.dir / "kept_files.txt.partial").replace(self.dir / "kept_files.txt")
        if unlisted := self.outputs.get("kept_files.txt", {}).get("unlisted"):
            self.warnings.append(f"{unlisted} kept file paths have line breaks or unsafe parts")
        return dict(sorted(self.outputs.items()))
