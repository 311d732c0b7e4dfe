"""A Hugging Face dataset saved with ``save_to_disk``, read with pyarrow alone.

Layout: a folder with ``state.json`` (listing its ``data-*.arrow`` files in order) and
``dataset_info.json``; a ``DatasetDict`` adds ``dataset_dict.json`` and one such folder per
split. The Arrow files are IPC *streams*; we memory-map them, so planning (which counts each
file's rows to number rows across the split, as ``dataset[i]`` does) touches no row data,
and reading needs no ``datasets`` install. Columns map as in the table reader; an ``Image``
feature is the ``{bytes, path}`` struct, and its ``path`` is recorded, never opened.

One shard per Arrow file, id ``<folder>-<split>-00000``; ``Shard.start``/``stop`` are the
file's rows within its split, and item ids ``<folder>-<split>/<id value>`` or
``<shard_id>#<row>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pyarrow as pa

from childsafe.errors import SourceError
from childsafe.readers import _paths
from childsafe.readers._columns import ColumnMap, guess
from childsafe.readers.base import Shard
from childsafe.readers.table import TableReader

MARKERS = ("dataset_dict.json", "state.json", "dataset_info.json")


def _open(path: str) -> pa.RecordBatchReader:
    """A reader over an Arrow IPC stream (what ``datasets`` writes) or IPC file."""
    source = pa.memory_map(path)
    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        f = pa.ipc.open_file(source)
        batches = (f.get_batch(i) for i in range(f.num_record_batches))
        return pa.RecordBatchReader.from_batches(f.schema, batches)


def _splits(root: str) -> list[tuple[str, str]]:
    """(split name, folder) pairs; the name is empty for a single ``Dataset``."""
    base = Path(root)
    if (base / "dataset_dict.json").is_file():
        names = json.loads((base / "dataset_dict.json").read_text("utf-8")).get("splits", [])
        return [(str(n), str(base / str(n))) for n in names]
    if (base / "state.json").is_file():
        return [("", root)]
    subs = sorted(p.parent.name for p in base.glob("*/state.json"))
    return [(d, str(base / d)) for d in subs]


def _data_files(folder: str) -> list[str]:
    state = Path(folder, "state.json")
    if state.is_file():
        listed = [
            d["filename"] for d in json.loads(state.read_text("utf-8")).get("_data_files", [])
        ]
        if listed:
            return [str(Path(folder, name)) for name in listed]
    return sorted(str(p) for p in Path(folder).glob("*.arrow"))


class HFReader(TableReader):
    """Reads a ``save_to_disk`` folder (a ``Dataset`` or a ``DatasetDict``)."""

    name: ClassVar[str] = "hf"

    @classmethod
    def sniff(cls, source: str) -> bool:
        base = Path(source)
        return base.is_dir() and (
            any((base / m).is_file() for m in MARKERS) or any(base.glob("*/state.json"))
        )

    def column_map(self, path: str) -> ColumnMap:
        try:
            schema = _open(path).schema
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{path}: cannot read as Arrow: {exc}") from exc
        return guess(path, schema, self.columns)

    def shards(self, source: str, *, index: int | None = None) -> list[Shard]:
        if not self.sniff(source):
            raise SourceError(f"{source}: not a Hugging Face save_to_disk folder")
        pre = _paths.prefix(_paths.stem(str(Path(source).absolute())), index)
        out: list[Shard] = []
        try:
            for split, folder in _splits(source):
                files = _data_files(folder)
                if not files:
                    raise SourceError(f"{source}: split {split or '(default)'} has no .arrow files")
                sid = f"{pre}-{_paths.slug(split)}" if split else pre
                row = 0
                for n, path in enumerate(files):
                    self.column_map(path)
                    rows = sum(b.num_rows for b in _open(path))
                    out.append(Shard(self.name, source, f"{sid}-{n:05d}", path, row, row + rows))
                    row += rows
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise SourceError(f"{source}: cannot read the dataset layout: {exc}") from exc
        return out

    def _raw(
        self, shard: Shard, cmap: ColumnMap
    ) -> Iterator[tuple[int, pa.RecordBatch | None, str | None]]:
        row = shard.start
        try:
            for batch in _open(shard.path):
                yield row, batch.select(cmap.columns()), None
                row += batch.num_rows
        except (OSError, pa.ArrowException) as exc:
            yield row, None, f"arrow file unreadable from row {row} on ({exc}); later rows lost"
