"""An in-memory ``BankStore`` test double, faithful to the ABC's contract.

Every ``apply`` is all-or-nothing and bumps the version; entries remember the version that
added and removed them; ``changes_since`` returns live entries added after a version and the
ids of entries removed after it (including ones added after it, which a matcher must
tolerate). Tests of the matcher run against it; the lead runs them against the SQL store too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from childsafe.banks.base import (
    AllowedHash,
    Bank,
    BankChanges,
    BankEntry,
    BankStore,
    ImportRecord,
    ImportResult,
)
from childsafe.errors import BankError, BankImportError, BankNotFound, HashFormatError
from childsafe.hashing.formats import canonical


@dataclass
class _Row:
    entry: BankEntry
    removed_version: int | None = None


class MemoryStore(BankStore):
    """Banks in dicts; ids come from one counter shared by all banks, like a SQL sequence."""

    def __init__(self) -> None:
        self._banks: dict[str, Bank] = {}
        self._rows: dict[str, list[_Row]] = {}
        self._allowed: dict[str, dict[tuple[str, str], AllowedHash]] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count()

    def _now(self) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC).replace(microsecond=next(self._clock) % 10**6)

    def create_bank(
        self,
        name: str,
        *,
        description: str = "",
        pdq_radius: int = 31,
        pdq_quality_floor: int = 50,
        exist_ok: bool = False,
    ) -> Bank:
        if name in self._banks:
            if exist_ok:
                return self._banks[name]
            raise BankError(f"bank {name!r} exists")
        bank = Bank(name, 0, self._now(), description, pdq_radius, pdq_quality_floor)
        self._banks[name], self._rows[name], self._allowed[name] = bank, [], {}
        return bank

    def get_bank(self, name: str) -> Bank:
        if name not in self._banks:
            raise BankNotFound(f"no bank named {name!r}")
        live = sum(1 for r in self._rows[name] if r.removed_version is None)
        return replace(self._banks[name], entry_count=live)

    def set_settings(self, name: str, **settings: int) -> None:
        """Change a bank's radius or quality floor (tests only)."""
        self._banks[name] = replace(self._banks[name], **settings)  # type: ignore[arg-type]

    def list_banks(self) -> list[Bank]:
        return [self.get_bank(n) for n in sorted(self._banks)]

    def delete_bank(self, name: str) -> None:
        self.get_bank(name)
        del self._banks[name], self._rows[name], self._allowed[name]

    def apply(self, name: str, records: Sequence[ImportRecord], *, source: str) -> ImportResult:
        bank = self.get_bank(name)
        clean = []
        for n, rec in enumerate(records, 1):
            try:
                clean.append(replace(rec, value=canonical(rec.hash_type, rec.value)))
            except HashFormatError as exc:
                raise BankImportError(str(exc), source=source, line=rec.line or n) from None
        version = bank.version + 1
        live = {
            (r.entry.hash_type, r.entry.value): r
            for r in self._rows[name]
            if r.removed_version is None
        }
        added = duplicates = removed = 0
        for rec in clean:
            key = (rec.hash_type, rec.value)
            if rec.deleted:
                row = live.pop(key, None)
                if row is not None:
                    row.removed_version = version
                    row.entry = replace(row.entry, deleted=True)
                    removed += 1
            elif key in live:
                duplicates += 1
            else:
                entry = BankEntry(
                    next(self._ids), name, rec.hash_type, rec.value, rec.label,
                    rec.source or source, rec.external_id, rec.member, self._now(), version,
                )  # fmt: skip
                live[key] = _Row(entry)
                self._rows[name].append(live[key])
                added += 1
        self._banks[name] = replace(self._banks[name], version=version)
        return ImportResult(name, version, added, duplicates, removed, len(records))

    def iter_entries(
        self, name: str, *, hash_type: str | None = None, include_deleted: bool = False
    ) -> Iterator[BankEntry]:
        self.get_bank(name)
        for row in sorted(self._rows[name], key=lambda r: r.entry.entry_id):
            if (include_deleted or row.removed_version is None) and (
                hash_type is None or row.entry.hash_type == hash_type
            ):
                yield row.entry

    def changes_since(self, name: str, version: int) -> BankChanges:
        bank = self.get_bank(name)
        rows = self._rows[name]
        added = [
            r.entry for r in rows if r.entry.added_version > version and r.removed_version is None
        ]
        removed = [
            r.entry.entry_id
            for r in rows
            if r.removed_version is not None and r.removed_version > version
        ]
        return BankChanges(name, version, bank.version, added, removed)

    def add_allowed(self, name: str, hash_type: str, values: Iterable[str], reason: str) -> int:
        self.get_bank(name)
        new = 0
        for value in values:
            key = (hash_type, canonical(hash_type, value))
            if key not in self._allowed[name]:
                self._allowed[name][key] = AllowedHash(name, *key, reason, self._now())
                new += 1
        return new

    def remove_allowed(self, name: str, hash_type: str, values: Iterable[str]) -> int:
        self.get_bank(name)
        keys = [(hash_type, canonical(hash_type, v)) for v in values]
        return sum(self._allowed[name].pop(k, None) is not None for k in keys)

    def allowed(self, name: str) -> list[AllowedHash]:
        self.get_bank(name)
        return list(self._allowed[name].values())
