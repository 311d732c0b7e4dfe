"""Per-shard parts: where a finished shard's rows live, their two formats, reading them back.

Workers write one part per shard (``scan.task``); the merge reads them back in shard order
(``scan.outputs``). Both formats hold ``RESULTS`` rows and are told apart by their suffix:

* ``<shard_id>.arrow`` — an Arrow IPC file, written by the hashes-only fast path and read
  back memory-mapped. Where a Parquet part cost ~0.44 µs/row to write and ~0.25-0.7 to
  read (measured on 2M rows), at a million rows per second a third of the whole scan, an
  uncompressed IPC part costs ~0.09 and nothing (the merge encodes straight from the page
  cache), at ~480 B/row on disk against ~190. That is the choice for parts on the
  scanning machine's own disk (the local executor). Where parts cross a network to shared
  storage (Ray), bytes cost more than CPU, so they are LZ4-compressed: ~220 B/row,
  ~0.17 µs/row to write and ~0.04 to read (:data:`ARROW_COMPRESSION`).
* ``<shard_id>.parquet`` — Parquet with LZ4 pages, written by the per-item path: at a few
  hundred images per second the part's format is noise, and Parquet is what tools open.

A part is written under a hidden temporary name in the same directory and renamed into
place only when complete (:func:`write_part`), so a part exists if and only if its shard
finished: ``--resume`` relies on that (:func:`find_part`). The merge accepts either format
for any shard, so a scan resumed by a newer version merges the parts an older one wrote.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from childsafe.errors import ScanOutputError
from childsafe.scan.schema import DICTIONARY_COLUMNS, RESULTS

TMP_SUFFIX = ".tmp"
ARROW_PART, PARQUET_PART = ".arrow", ".parquet"
PART_SUFFIXES = (ARROW_PART, PARQUET_PART)
PARQUET_OPTIONS: dict[str, Any] = {"compression": "lz4", "use_dictionary": list(DICTIONARY_COLUMNS)}
"""LZ4 wrote and read back faster than Snappy or zstd (zstd is kept for ``results.parquet``,
which is kept), at about twice zstd's size."""
ARROW_COMPRESSION = "lz4"
"""The codec of compressed IPC parts: zstd halves LZ4's size but costs twice the CPU."""


def part_path(parts_dir: Path, shard_id: str, suffix: str = PARQUET_PART) -> Path:
    """Where a finished shard's rows live, in the format ``suffix`` names."""
    return parts_dir / f"{shard_id}{suffix}"


def find_part(parts_dir: Path, shard_id: str) -> Path | None:
    """The part of a finished shard, in whichever format it was written; None if none."""
    for suffix in PART_SUFFIXES:
        path = part_path(parts_dir, shard_id, suffix)
        if path.exists():
            return path
    return None


def shard_id_of(part: Path) -> str:
    """The shard a part belongs to: its file name without the format suffix."""
    for suffix in PART_SUFFIXES:
        if part.name.endswith(suffix):
            return part.name.removesuffix(suffix)
    return part.name


def write_part(final: Path, tables: Iterable[pa.Table], *, compress: bool = True) -> None:
    """Stream ``tables`` into ``final`` (format by suffix) through a temporary file.

    ``compress`` applies to IPC parts (Parquet parts are always LZ4); no writer threads:
    workers are the unit of parallelism, one per core.
    """
    tmp = final.with_name(f".{final.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        with pa.OSFile(str(tmp), "wb") as sink:
            options = pyarrow.ipc.IpcWriteOptions(
                compression=ARROW_COMPRESSION if compress else None, use_threads=False
            )
            writer: Any = (
                pyarrow.ipc.new_file(sink, RESULTS, options=options)
                if final.name.endswith(ARROW_PART)
                else pq.ParquetWriter(sink, RESULTS, **PARQUET_OPTIONS)
            )
            with writer:
                for table in tables:
                    writer.write_table(table)
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_part(part: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The part's rows as ``RESULTS`` batches; ``ScanOutputError`` naming the part if broken.

    Why no reader threads: the merge runs beside the workers, which have the cores.
    """
    arrow = part.name.endswith(ARROW_PART)
    try:
        batches = _arrow_batches(part) if arrow else _parquet_batches(part, batch_rows)
        for batch in batches:
            yield pa.RecordBatch.from_arrays(batch.columns, schema=RESULTS)
    except (OSError, pa.ArrowException) as exc:
        kind = "Arrow IPC" if arrow else "Parquet"
        raise ScanOutputError(f"part {part}: not a readable {kind} file: {exc}") from exc


def _arrow_batches(part: Path) -> Iterator[pa.RecordBatch]:
    """Memory-mapped: an uncompressed part's batches point into the page cache (no copy).

    Closing the map is safe while batches are still held (the merge keeps some until a row
    group fills): Arrow unmaps only when the last buffer into the map is released.
    """
    with pa.memory_map(str(part)) as source:
        options = pyarrow.ipc.IpcReadOptions(use_threads=False)
        ipc = pyarrow.ipc.open_file(source, options=options)
        _check_schema(part, ipc.schema)
        for i in range(ipc.num_record_batches):
            yield ipc.get_batch(i)


def _parquet_batches(part: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with pq.ParquetFile(part) as pf:
        _check_schema(part, pf.schema_arrow)
        if pf.metadata.num_rows <= batch_rows:  # one read is faster for a small part
            yield from pf.read(use_threads=False).to_batches()
        else:
            yield from pf.iter_batches(batch_rows, use_threads=False)


def _check_schema(part: Path, schema: pa.Schema) -> None:
    """Raise ``ScanOutputError`` saying how ``schema`` differs from ``RESULTS``."""
    if schema.equals(RESULTS, check_metadata=False):
        return
    problems = []
    for f in RESULTS:
        idx = schema.get_field_index(f.name)
        if idx < 0:
            problems.append(f"missing column {f.name!r}")
        elif not schema.field(idx).type.equals(f.type):
            problems.append(f"column {f.name!r} is {schema.field(idx).type}, expected {f.type}")
    problems += [f"unexpected column {n!r}" for n in schema.names if n not in RESULTS.names]
    if not problems:
        problems.append("columns are not in the RESULTS order")
    raise ScanOutputError(f"part {part} does not match the RESULTS schema: {'; '.join(problems)}")
