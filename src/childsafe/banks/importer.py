"""Import, export and removal of whole hash lists, all-or-nothing.

``import_file`` parses and validates *every* record (``hashing.formats.canonical``) before
it touches the store, so a bad last line of a million-line file leaves the bank exactly as
it was, version included, and the error names that line. The store then applies the batch
in one transaction. Records travel as tuples in a :class:`RecordBatch` (see there for why).

Parsing and validation each have a fast path for the plain million-line list
(``BankFormat.fast_batch``, ``banks.validate.canonical_hex``) that either gives exactly the
reference result or declines; on a bad file the reference path runs and names the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from childsafe.banks.base import BankStore, ImportResult
from childsafe.banks.batch import RecordBatch, Row
from childsafe.banks.formats import detect_format, get_format
from childsafe.banks.validate import validate
from childsafe.errors import BankImportError, BankNotFound, HashFormatError
from childsafe.hashing.formats import canonical

_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class FileImportResult(ImportResult):
    """An import's result plus the file's format and what was skipped (reason -> count)."""

    format: str = ""
    skipped: dict[str, int] = field(default_factory=dict)


def _resolve(store: BankStore, bank: str, tombstones: list[Row]) -> list[Row]:
    """Tombstones that name only an entry id become one removal per hash that id added."""
    ids = {r[4]: r for r in tombstones if r[4]}
    out: list[Row] = []
    try:
        for e in store.iter_entries(bank):
            if e.external_id and (t := ids.get(e.external_id)) is not None:
                out.append((e.hash_type, e.value, t[2], t[3], t[4], t[5], True, t[7]))
    except BankNotFound:
        pass
    return out


def import_file(
    store: BankStore,
    bank: str,
    path: Path | str,
    *,
    fmt: str = "auto",
    hash_type: str | None = None,
    create: bool = True,
    label: str | None = None,
    source: str | None = None,
) -> FileImportResult:
    """Import a hash-list file into ``bank``: every record, or (on any error) none.

    ``label`` fills in records without one; ``source`` (default: the file name) is recorded
    on every entry that does not name its own and in the bank's version log.
    """
    path = Path(path)
    src = source or path.name
    with path.open("rb") as stream:
        name = detect_format(path, stream.read(_HEAD)) if fmt == "auto" else fmt
        stream.seek(0)
        parser = get_format(name)
        parsed = parser.fast_batch(stream, source=str(path), hash_type=hash_type)
        if parsed is None:
            stream.seek(0)
            parsed = RecordBatch(parser.rows(stream, source=str(path), hash_type=hash_type))
    batch, tombstones = validate(parsed, where=str(path), source=src, label=label)
    del parsed
    if tombstones:
        batch.rows.extend(_resolve(store, bank, tombstones))
    if create:
        store.create_bank(bank, exist_ok=True)
    res = store.apply(bank, batch, source=src)
    return FileImportResult(
        res.bank, res.version, res.added, res.duplicates, res.removed, res.records,
        format=name, skipped=dict(parser.stats),
    )  # fmt: skip


def export_bank(
    store: BankStore,
    bank: str,
    out: Path | IO[str],
    *,
    fmt: str = "csv",
    include_deleted: bool = False,
) -> int:
    """Write ``bank`` to a file or text stream; returns how many entries were written."""
    store.get_bank(bank)  # BankNotFound before creating an empty file
    writer = get_format(fmt)
    entries = store.iter_entries(bank, include_deleted=include_deleted)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as f:
            return writer.write(entries, f)
    return writer.write(entries, out)


def remove_hashes(
    store: BankStore, bank: str, hash_type: str, values: Iterable[str]
) -> ImportResult:
    """Tombstone these hashes in one change; a bad one fails them all (``line`` = position)."""
    rows: list[Row] = []
    for i, value in enumerate(values, 1):
        try:
            v = canonical(hash_type, value)
        except HashFormatError as exc:
            raise BankImportError(str(exc), source="remove", line=i) from None
        rows.append((hash_type, v, None, None, None, None, True, i))
    return store.apply(bank, RecordBatch(rows), source="remove")
