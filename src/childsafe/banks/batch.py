"""``RecordBatch``: a million parsed records without a million objects.

:class:`~childsafe.banks.base.ImportRecord` is a frozen dataclass, and building one costs a
few microseconds: seconds for a large hash list, more than the database insert itself. A
batch keeps plain tuples in ``ImportRecord`` field order and still *is* a
``Sequence[ImportRecord]`` (items are built on access), so any ``BankStore`` accepts it,
while ``SqlBankStore`` reads ``rows`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from childsafe.banks.base import ImportRecord

# hash_type, value, label, source, external_id, member, deleted, line
Row = tuple[str, str, str | None, str | None, str | None, str | None, bool, int | None]


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
    """Records as tuples; see the module docstring for why."""

    __slots__ = ("rows",)

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self.rows: list[Row] = list(rows)

    @classmethod
    def of(cls, records: Iterable[ImportRecord]) -> RecordBatch:
        """A batch from any records (a batch is returned as it is)."""
        if isinstance(records, RecordBatch):
            return records
        return cls(as_row(r) for r in records)

    def __len__(self) -> int:
        return len(self.rows)

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
