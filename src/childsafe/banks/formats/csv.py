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
from collections.abc import Iterable, Iterator
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Row
from childsafe.banks.formats.base import BankFormat, opt, parse_bool, text_lines
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
            names = [h.strip().lower() for h in header]
            fields = {ALIASES[h]: i for i, h in enumerate(names) if h in ALIASES}
            wide = {h: i for i, h in enumerate(names) if h in HASH_COLUMNS and h not in ALIASES}
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
