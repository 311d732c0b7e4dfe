"""``RecordBatch``: a million parsed records without a million objects.

:class:`~childsafe.banks.base.ImportRecord` is a frozen dataclass, and building one costs a
few microseconds: seconds for a large hash list, more than the database insert itself. A
batch keeps plain tuples in ``ImportRecord`` field order and still *is* a
``Sequence[ImportRecord]`` (items are built on access), so any ``BankStore`` accepts it,
while ``SqlBankStore`` reads ``rows`` directly.

A list of one hash type without tombstones (a text file of hashes, most CSVs) can go one
step further and skip the tuples too: a batch made with :meth:`RecordBatch.from_columns`
holds :class:`Columns` (the values as one list, the few distinct provenances once, and an
id per row), which a store may use as it is. Each pass over a million tuples costs a few
tenths of a second, and parse, validate and store each made one or more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import overload

from childsafe.banks.base import ImportRecord

# hash_type, value, label, source, external_id, member, deleted, line
Row = tuple[str, str, str | None, str | None, str | None, str | None, bool, int | None]


# label, source, external_id, member: what records of one hash type differ in besides value
Provenance = tuple[str | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class Columns:
    """Live records of one hash type as columns; row i has ``provenances[ids[i]]``."""

    hash_type: str
    values: list[str]
    lines: Sequence[int]
    provenances: list[Provenance] = field(default_factory=lambda: [(None, None, None, None)])
    ids: Sequence[int] | None = None  # None: every row has provenances[0]

    def rows(self) -> list[Row]:
        provs: Iterable[Provenance] = (
            repeat(self.provenances[0], len(self.values))
            if self.ids is None
            else map(self.provenances.__getitem__, self.ids)
        )
        cols = zip(self.values, provs, self.lines, strict=True)
        return [(self.hash_type, v, *p, False, line) for v, p, line in cols]


def as_row(rec: ImportRecord) -> Row:
    """The tuple form of one record."""
    return (
        rec.hash_type,
        rec.value,
        rec.label,
        rec.source,
        rec.external_id,
        rec.member,
        rec.deleted,
        rec.line,
    )


class RecordBatch(Sequence[ImportRecord]):
    """Records as tuples, or as :class:`Columns`; see the module docstring for why.

    ``columns`` is None once ``rows`` has been read: the list may be changed after that,
    so the columns would no longer tell the truth.
    """

    __slots__ = ("_rows", "columns")

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self._rows: list[Row] | None = list(rows)
        self.columns: Columns | None = None

    @classmethod
    def of(cls, records: Iterable[ImportRecord]) -> RecordBatch:
        """A batch from any records (a batch is returned as it is)."""
        if isinstance(records, RecordBatch):
            return records
        return cls(as_row(r) for r in records)

    @classmethod
    def from_columns(cls, columns: Columns) -> RecordBatch:
        """A batch kept as columns until someone asks for ``rows``."""
        batch = cls()
        batch._rows, batch.columns = None, columns
        return batch

    @property
    def rows(self) -> list[Row]:
        if self._rows is None:
            self._rows = self.columns.rows() if self.columns is not None else []
        self.columns = None
        return self._rows

    def __len__(self) -> int:
        return len(self.columns.values) if self.columns is not None else len(self.rows)

    @overload
    def __getitem__(self, i: int) -> ImportRecord: ...
    @overload
    def __getitem__(self, i: slice) -> RecordBatch: ...
    def __getitem__(self, i: int | slice) -> ImportRecord | RecordBatch:
        if isinstance(i, slice):
            return RecordBatch(self.rows[i])
        return ImportRecord(*self.rows[i])

    def __iter__(self) -> Iterator[ImportRecord]:
        return (ImportRecord(*r) for r in self.rows)
