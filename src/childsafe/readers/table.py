"""Parquet, CSV and JSON Lines tables, LAION-style: ids, URLs, captions, hashes, images.

Columns are guessed from their names (``id``/``key``/``uid``, ``url``, ``caption``/``TEXT``,
``md5``/``sha1``/``sha256``/``pdq``, ``licence``, ``image``/``jpg``/``bytes`` or a Hugging Face
``{bytes, path}`` struct) and ``<role>_column=`` options override the guesses. A table with
only hashes gives hashes-only items (the Re-LAION method); :meth:`TableReader.read_batches`
gives the same rows as Arrow batches, for matching millions of rows without Python objects.

Shards. Parquet: consecutive whole row groups, about ``rows_per_shard`` rows per shard
(a row group is Parquet's unit of reading, so a shard never splits one). CSV and JSONL: one
shard per file — quoted newlines make line-aligned byte ranges unsafe for CSV, and finding
row numbers for byte ranges would mean reading the whole file at planning time; split big
text tables into several files, or convert them to Parquet. Shard ids ``<file stem>-00000``;
item ids ``<file stem>/<id value>`` (the id column is trusted to be unique, as LAION's are),
else ``<shard_id>#<row>``, ``row`` being the 0-based row number in the file.

A table that cannot be read past some point (a corrupt Parquet row group, a CSV parse error)
yields one error item at the first lost row, id ``<shard_id>#<row>``; for Parquet the next
row group is read again, for CSV and JSONL the rest of the file is lost and the message says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from childsafe.content.base import Item, Provenance
from childsafe.errors import SourceError
from childsafe.readers import _paths
from childsafe.readers._columns import (
    BATCH_SCHEMA,
    HASH_TYPES,
    ROLES,
    ColumnMap,
    Context,
    guess,
    normalise,
)
from childsafe.readers._rows import image_parts, items
from childsafe.readers.base import Reader, Shard

FORMATS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
COLUMN_OPTIONS = frozenset(f"{r}_column" for r in (*ROLES, *HASH_TYPES))
DEFAULT_MAX_MEMBER_BYTES = 256 << 20
_JSON_BLOCK = 16 << 20  # one JSON line must fit in a block


def table_format(path: str) -> str | None:
    return next((f for s, f in FORMATS.items() if path.lower().endswith(s)), None)


@dataclass(frozen=True, slots=True)
class _BadLine:
    """A CSV line the parser skipped (wrong number of fields): it becomes one error item."""

    item_id: str
    message: str


def error_batch(
    shard: Shard, row: int | None, message: str, item_id: str | None = None
) -> pa.RecordBatch:
    """One error row in :data:`BATCH_SCHEMA`: the first row a damaged table lost, or one
    malformed CSV line (``item_id`` given, ``row`` None: it has no place among the rows)."""
    values: dict[str, list[object]] = {f.name: [None] for f in BATCH_SCHEMA}
    values.update(
        item_id=[item_id or f"{shard.shard_id}#{row}"], source=[shard.source],
        shard=[shard.shard_id], row=[row], error=[message],
    )  # fmt: skip
    return pa.RecordBatch.from_pydict(values, schema=BATCH_SCHEMA)


class TableReader(Reader):
    """Reads Parquet, CSV/TSV and JSON Lines files (a path, glob or brace pattern)."""

    name: ClassVar[str] = "table"

    def __init__(
        self,
        *,
        rows_per_shard: int = 50_000,
        batch_rows: int = 65_536,
        max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
        **columns: str | None,
    ) -> None:
        unknown = set(columns) - COLUMN_OPTIONS
        if unknown:
            raise TypeError(f"unknown table options: {', '.join(sorted(unknown))}")
        self.rows_per_shard = rows_per_shard
        self.batch_rows = batch_rows
        self.max_member_bytes = max_member_bytes
        self.columns = {k: v for k, v in columns.items() if v is not None}

    @classmethod
    def sniff(cls, source: str) -> bool:
        return table_format(source) is not None

    # -- planning -----------------------------------------------------------------------
    def column_map(self, path: str) -> ColumnMap:
        """The columns of ``path`` by role; ``SourceError`` naming the file if unusable."""
        fmt = table_format(path)
        try:
            if fmt == "parquet":
                schema = pq.read_schema(path)
            elif fmt == "csv":
                schema = self._csv(path, None).schema
            else:
                schema = pajson.open_json(path, read_options=self._json_opts()).schema
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{path}: cannot read as {fmt}: {exc}") from exc
        if fmt == "csv":  # every CSV column is read as bytes (see _csv)
            schema = pa.schema([(n, pa.binary()) for n in schema.names])
        return guess(path, schema, self.columns, images=fmt == "parquet")

    def shards(self, source: str, *, index: int | None = None) -> list[Shard]:
        files = _paths.expand_files(source)
        out: list[Shard] = []
        for path, pre in zip(files, _paths.unique_slugs(files, index), strict=True):
            self.column_map(path)
            ranges = self._row_ranges(path) if table_format(path) == "parquet" else [(0, None)]
            out += [
                Shard(self.name, source, f"{pre}-{n:05d}", path, start, stop)
                for n, (start, stop) in enumerate(ranges)
            ]
        return out

    def _row_ranges(self, path: str) -> list[tuple[int, int | None]]:
        md = pq.ParquetFile(path).metadata
        ranges: list[tuple[int, int | None]] = []
        start = row = 0
        for g in range(md.num_row_groups):
            row += md.row_group(g).num_rows
            if row - start >= self.rows_per_shard or g == md.num_row_groups - 1:
                ranges.append((start, row))
                start = row
        return ranges

    # -- reading ------------------------------------------------------------------------
    def has_images(self, shard: Shard) -> bool:
        """Whether rows carry image bytes: then only :meth:`read` gives the whole item."""
        return self.column_map(shard.path).get("image") is not None

    def read_batches(self, shard: Shard) -> Iterator[pa.RecordBatch]:
        """The shard's rows as :data:`BATCH_SCHEMA` batches (no image bytes, no text)."""
        for norm, _raw, _cmap in self._normalised(shard):
            yield norm

    def read(self, shard: Shard) -> Iterator[Item]:
        for norm, raw, cmap in self._normalised(shard):
            if raw is None:
                row = norm.column("row")[0].as_py()
                prov = Provenance(source=shard.source, shard=shard.shard_id, row=row)
                yield Item(norm.column("item_id")[0].as_py(), provenance=prov,
                           error=norm.column("error")[0].as_py())  # fmt: skip
            else:
                yield from items(norm, raw, cmap, self.max_member_bytes)

    def _normalised(
        self, shard: Shard
    ) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch | None, ColumnMap]]:
        try:
            cmap = self.column_map(shard.path)
        except SourceError as exc:
            yield error_batch(shard, shard.start, f"table unreadable: {exc}"), None, ColumnMap()
            return
        ctx = Context(shard.source, shard.shard_id, shard.shard_id.rpartition("-")[0])
        for first_row, raw, failure in self._raw(shard, cmap):
            if isinstance(failure, _BadLine):
                yield error_batch(shard, None, failure.message, failure.item_id), None, cmap
                continue
            if raw is None:
                yield error_batch(shard, first_row, failure or "unreadable"), None, cmap
                continue
            data, _paths_col = image_parts(raw, cmap)
            yield normalise(raw, cmap, ctx, first_row, pc.is_valid(data)), raw, cmap

    def _raw(
        self, shard: Shard, cmap: ColumnMap
    ) -> Iterator[tuple[int, pa.RecordBatch | None, str | _BadLine | None]]:
        """(first row, batch, None) per batch, or (first lost row, None, why) on damage.

        A CSV line with the wrong number of fields is skipped by the parser and comes back
        as its own ``_BadLine`` error item, so one bad line costs one item, not the rest of
        the file (rows out = items in).
        """
        fmt, cols, row = table_format(shard.path), cmap.columns(), shard.start
        if fmt == "parquet":
            yield from self._parquet(shard, cols)
            return
        bad: list[_BadLine] = []
        try:
            reader = (
                self._csv(shard.path, cols, bad, shard.shard_id)
                if fmt == "csv"
                else pajson.open_json(shard.path, read_options=self._json_opts())
            )
            for batch in reader:
                batch = batch.select(cols)
                yield row, batch, None
                row += batch.num_rows
                while bad:
                    yield row, None, bad.pop(0)
            while bad:
                yield row, None, bad.pop(0)
        except (OSError, pa.ArrowException, KeyError) as exc:
            while bad:
                yield row, None, bad.pop(0)
            yield row, None, f"{fmt} unreadable from row {row} on ({exc}); later rows are lost"

    def _parquet(
        self, shard: Shard, cols: list[str]
    ) -> Iterator[tuple[int, pa.RecordBatch | None, str | None]]:
        try:
            pf = pq.ParquetFile(shard.path)
            sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
        except (OSError, pa.ArrowException) as exc:
            yield shard.start, None, f"parquet unreadable: {exc}"
            return
        starts = [0, *itertools.accumulate(sizes)]
        stop = shard.stop if shard.stop is not None else starts[-1]
        for g, size in enumerate(sizes):
            if not shard.start <= starts[g] < stop:
                continue
            row = starts[g]
            try:
                batches = pf.iter_batches(
                    self.batch_rows, row_groups=[g], columns=cols, use_threads=False
                )  # one worker per core: decoding threads only add switching
                for batch in batches:
                    yield row, batch, None
                    row += batch.num_rows
            except (OSError, pa.ArrowException) as exc:
                lost = f"rows {row}-{starts[g] + size - 1}"
                yield row, None, f"parquet row group {g} unreadable ({exc}); {lost} lost"

    @staticmethod
    def _json_opts() -> pajson.ReadOptions:
        return pajson.ReadOptions(block_size=_JSON_BLOCK, use_threads=False)

    @staticmethod
    def _csv(
        path: str,
        cols: list[str] | None,
        bad: list[_BadLine] | None = None,
        shard_id: str = "",
    ) -> pacsv.CSVStreamingReader:
        """A streaming CSV reader: quoted newlines allowed, chosen columns kept as bytes.

        Bytes, because a caption with invalid UTF-8 would otherwise fail the whole file.
        Lines with the wrong number of fields are skipped and collected in ``bad``.
        """

        numbers = itertools.count()

        def on_invalid(row: Any) -> str:
            if bad is None:
                return "error"
            where = f"line {row.number}" if row.number is not None else "a line"
            bad.append(
                _BadLine(
                    f"{shard_id}#bad-{next(numbers)}",
                    f"csv {where}: expected {row.expected_columns} fields, got "
                    f"{row.actual_columns}; line skipped (its text is not copied)",
                )
            )
            return "skip"

        delimiter = "\t" if path.lower().endswith(".tsv") else ","
        convert = pacsv.ConvertOptions(
            include_columns=cols or [],
            column_types=dict.fromkeys(cols or [], pa.binary()),
            strings_can_be_null=True,
            check_utf8=False,
        )
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=convert,
        )
