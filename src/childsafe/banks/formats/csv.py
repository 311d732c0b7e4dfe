"""``csv``: a header row naming the columns, or one column per hash type.

Named columns (case-insensitive; the aliases are what other tools call them):
``hash``/``value``/``signal``, ``hash_type``/``type``/``signal_type``,
``label``/``classification``, ``source``, ``id``/``external_id``, ``member``, ``deleted``.
Without a hash column, columns named after hash types (``pdq``, ``md5``, ``sha256`` ...)
give one record per non-empty cell: the shape of LAION-style metadata tables. Other columns
(``url``, ``caption``) are ignored. Quoting is strict: an unbalanced quote is an error with
its line, not a silently merged record.
"""

from __future__ import annotations

import csv as _csv
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Columns, Provenance, RecordBatch, Row
from childsafe.banks.formats.base import (
    BankFormat,
    opt,
    parse_bool,
    read_text,
    split_lines,
    text_lines,
)
from childsafe.errors import BankImportError
from childsafe.types import HashType

ALIASES: dict[str, str] = {
    **dict.fromkeys(("hash", "value", "signal", "signal_str"), "value"),
    **dict.fromkeys(("hash_type", "type", "signal_type"), "hash_type"),
    **dict.fromkeys(("label", "classification"), "label"),
    "source": "source",
    **dict.fromkeys(("id", "external_id"), "external_id"),
    "member": "member",
    "deleted": "deleted",
}
HASH_COLUMNS = frozenset(t.value for t in HashType)
FIELDS = ("hash_type", "value", "label", "source", "external_id", "member", "deleted")
_PROVENANCE_FIELDS = ("label", "source", "external_id", "member")


def make_row(get: dict[str, Any], value: str, htype: str | None, *, source: str, line: int) -> Row:
    """A row from a mapping of canonical field names (shared with ``jsonl``)."""
    if not htype:
        raise BankImportError(
            "no hash type: add a hash_type column or pass --type", source=source, line=line
        )
    deleted = get.get("deleted")
    if isinstance(deleted, str):
        deleted = parse_bool(deleted, source=source, line=line, column="deleted")
    elif deleted is not None and not isinstance(deleted, bool):
        raise BankImportError(
            f"deleted: want true/false, got {deleted!r}", source=source, line=line
        )
    return (
        htype.strip().lower(),
        value.strip(),
        opt(get.get("label")),
        opt(get.get("source")),
        opt(get.get("external_id")),
        opt(get.get("member")),
        bool(deleted),
        line,
    )


def _columns(header: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Canonical field -> column, and hash-type column -> column (the wide shape)."""
    names = [h.strip().lower() for h in header]
    fields = {ALIASES[h]: i for i, h in enumerate(names) if h in ALIASES}
    wide = {h: i for i, h in enumerate(names) if h in HASH_COLUMNS and h not in ALIASES}
    return fields, wide


def _parse_deleted(cell: str) -> bool:
    return parse_bool(cell, source="", line=None, column="deleted")


def _provenances(
    cells: list[str], width: int, fields: dict[str, int]
) -> tuple[list[Provenance], list[int] | None]:
    """The distinct provenances of the body's rows, and each row's index into them.

    Cells are cleaned (``opt``) once per distinct combination, not once per row.
    """
    present = [f for f in _PROVENANCE_FIELDS if f in fields]
    if not present:
        return [(None, None, None, None)], None
    raw = [cells[fields[f] :: width] for f in present]
    keys: list[Any] = raw[0] if len(raw) == 1 else list(zip(*raw, strict=True))
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    provs: list[Provenance] = []
    for k in index:
        got = dict(zip(present, (k,) if len(raw) == 1 else k, strict=True))
        label, source, external_id, member = (opt(got.get(f)) for f in _PROVENANCE_FIELDS)
        provs.append((label, source, external_id, member))
    ids = None if len(index) == 1 else list(map(index.__getitem__, keys))
    return provs, ids


class _Defer(Exception):
    """The fast path gives the file to the reference reader (which will say what is wrong)."""


def _commas(line: str) -> int:
    return line.count(",")


class CsvFormat(BankFormat):
    """Comma-separated values with a header."""

    name = "csv"

    def sniff(self, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
        cols = {c.strip().strip('"') for c in first.split(",")}
        return "," in first and bool(cols & (ALIASES.keys() | HASH_COLUMNS))

    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        reader = _csv.reader(text_lines(stream, source, keepends=True), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            fields, wide = _columns(header)
            if "value" not in fields and not wide:
                raise BankImportError(
                    "missing hash column: want one of hash, value, signal, or columns named "
                    f"by hash type ({', '.join(sorted(HASH_COLUMNS))}); got {header!r}",
                    source=source,
                    line=1,
                )
            for cells in reader:
                n = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                get = {f: cells[i] if i < len(cells) else "" for f, i in fields.items()}
                if "value" in fields:
                    htype = get.get("hash_type") or hash_type
                    if not get["value"].strip():
                        raise BankImportError("empty hash cell", source=source, line=n)
                    yield make_row(get, get["value"], htype, source=source, line=n)
                    continue
                for htype, i in wide.items():
                    if i < len(cells) and cells[i].strip():
                        yield make_row(get, cells[i], htype, source=source, line=n)
        except _csv.Error as exc:
            raise BankImportError(f"bad CSV: {exc}", source=source, line=reader.line_num) from None

    def fast_batch(
        self, stream: IO[bytes], *, source: str, hash_type: str | None
    ) -> RecordBatch | None:
        """A CSV without quotes, blank lines or ragged rows, column by column.

        Without a quote character every line is its cells joined by commas (what the csv
        module would read), so one ``split`` of the whole body gives every cell and each
        column is a slice of that. A column's cells are cleaned once per *distinct* value
        (a label column has a handful), through the very functions ``rows`` uses. Rows of
        one hash type without tombstones come back as :class:`Columns`.
        """
        text = read_text(stream)
        if text is None or '"' in text or "\x00" in text:
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n")  # what text_lines does, when no lone CR is left
            if "\r" in text:
                return None
        lines = split_lines(text)
        if not lines or not lines[0] or max(map(len, lines)) > _csv.field_size_limit():
            return None
        fields, _ = _columns(lines[0].split(","))
        body = lines[1:]
        width = lines[0].count(",") + 1
        if "value" not in fields or "" in body or set(map(_commas, body)) - {width - 1}:
            return None
        if not body:
            return RecordBatch()
        cells = ",".join(body).split(",")
        n = len(body)

        def column(name: str, clean: Callable[[str], Any]) -> list[Any] | None:
            if name not in fields:
                return None
            col = cells[fields[name] :: width]
            memo = {c: clean(c) for c in set(col)}
            return list(map(memo.__getitem__, col))

        def hash_type_of(cell: str) -> str:
            htype = (cell or hash_type or "").strip().lower()
            if not htype:
                raise _Defer
            return htype

        values = list(map(str.strip, cells[fields["value"] :: width]))
        try:
            if not all(values):
                raise _Defer  # an empty hash cell: the reference path names its line
            htypes = column("hash_type", hash_type_of) or [hash_type_of("")] * n
            deleted = column("deleted", _parse_deleted)
        except (_Defer, BankImportError):
            return None
        provs, ids = _provenances(cells, width, fields)
        types = set(htypes)
        if len(types) == 1 and not any(deleted or ()):
            return RecordBatch.from_columns(
                Columns(types.pop(), values, range(2, n + 2), provs, ids)
            )
        per_row = repeat(provs[0], n) if ids is None else map(provs.__getitem__, ids)
        flags = deleted or repeat(False, n)
        cols = zip(htypes, values, per_row, flags, range(2, n + 2), strict=True)
        return RecordBatch([(t, v, *p, d, line) for t, v, p, d, line in cols])

    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        w = _csv.writer(stream, lineterminator="\n")
        w.writerow(FIELDS)
        n = 0
        for e in entries:
            w.writerow(
                (
                    e.hash_type,
                    e.value,
                    e.label or "",
                    e.source or "",
                    e.external_id or "",
                    e.member or "",
                    "true" if e.deleted else "",
                )
            )
            n += 1
        return n


FORMAT = CsvFormat()
parse = FORMAT.parse
write = FORMAT.write
