"""``SqlBankStore``: the :class:`~childsafe.banks.base.BankStore` on SQLAlchemy.

Versioning rule: every :meth:`apply` is one transaction and is logged in ``bank_versions``,
but the bank's ``version`` goes up (by exactly 1) only when the apply changed something (an
entry added, revived or removed). A file imported twice therefore leaves the version alone
the second time: an index at that version is still exact, and ``changes_since`` is empty.
The log row of a no-op carries the unchanged version and its duplicate count.

Counting rule: ``records == added + duplicates + removed``. Within one apply the last record
for a (hash_type, value) wins; every record that changed nothing (a repeat, a hash already
live, a removal of a hash that is not live) is a duplicate. A hash already live is not
updated: the first import's provenance stays.

The bank row is locked by the first statement of a write (a no-op UPDATE), which takes
SQLite's write lock (waiting out ``busy_timeout``) or PostgreSQL's row lock, so concurrent
imports into one bank serialise instead of racing for the next version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from childsafe.banks.base import (
    AllowedHash,
    Bank,
    BankChanges,
    BankEntry,
    BankStore,
    ImportRecord,
    ImportResult,
)
from childsafe.banks.batch import RecordBatch
from childsafe.errors import BankError, BankNotFound
from childsafe.storage import bulk
from childsafe.storage.models import allowlist, bank_versions, banks, entries


def _utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class SqlBankStore(BankStore):
    """Banks in SQLite or PostgreSQL; build one with :func:`childsafe.storage.open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # banks ---------------------------------------------------------------------------------

    def create_bank(
        self,
        name: str,
        *,
        description: str = "",
        pdq_radius: int = 31,
        pdq_quality_floor: int = 50,
        exist_ok: bool = False,
    ) -> Bank:
        if not name or not name.strip():
            raise BankError("a bank needs a non-empty name")
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(banks).values(
                        name=name,
                        version=0,
                        description=description,
                        pdq_radius=pdq_radius,
                        pdq_quality_floor=pdq_quality_floor,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            if not exist_ok:
                raise BankError(f"bank {name!r} already exists") from None
        return self.get_bank(name)

    def _bank_query(self) -> Any:
        live = (
            select(func.count())
            .where(entries.c.bank_id == banks.c.id, entries.c.deleted.is_(False))
            .scalar_subquery()
        )
        return select(banks, live.label("entry_count"))

    @staticmethod
    def _bank(row: Row[Any]) -> Bank:
        return Bank(
            name=row.name,
            version=row.version,
            created_at=_utc(row.created_at),
            description=row.description,
            pdq_radius=row.pdq_radius,
            pdq_quality_floor=row.pdq_quality_floor,
            entry_count=row.entry_count,
        )

    def get_bank(self, name: str) -> Bank:
        with self.engine.connect() as conn:
            row = conn.execute(self._bank_query().where(banks.c.name == name)).first()
        if row is None:
            raise BankNotFound(f"no bank named {name!r}")
        return self._bank(row)

    def list_banks(self) -> list[Bank]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._bank_query().order_by(banks.c.name)).all()
        return [self._bank(r) for r in rows]

    def delete_bank(self, name: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(delete(banks).where(banks.c.name == name)).rowcount == 0:
                raise BankNotFound(f"no bank named {name!r}")

    def _bank_id(self, conn: Connection, name: str) -> int:
        bank_id = conn.execute(select(banks.c.id).where(banks.c.name == name)).scalar()
        if bank_id is None:
            raise BankNotFound(f"no bank named {name!r}")
        return int(bank_id)

    def _lock(self, conn: Connection, name: str) -> tuple[int, int]:
        row = conn.execute(
            update(banks)
            .where(banks.c.name == name)
            .values(version=banks.c.version)
            .returning(banks.c.id, banks.c.version)
        ).first()
        if row is None:
            raise BankNotFound(f"no bank named {name!r}")
        return int(row.id), int(row.version)

    # entries -------------------------------------------------------------------------------

    def apply(self, name: str, records: Sequence[ImportRecord], *, source: str) -> ImportResult:
        # The last record for a hash wins; sorting by hash turns the unique index's random
        # inserts into appends, which more than halves bulk insert time on both databases.
        last = {(r[0], r[1]): r for r in RecordBatch.of(records).rows}
        adds = sorted((r for r in last.values() if not r[6]), key=itemgetter(0, 1))
        removes = [k for k, r in last.items() if r[6]]
        del last
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            bank_id, old = self._lock(conn, name)
            new = old + 1
            added = removed = 0
            if adds:
                added = bulk.insert_new(conn, bank_id, new, now, adds)
                if added < len(adds):
                    added += bulk.revive(conn, bank_id, new, now, adds)
            removed = bulk.tombstone(conn, bank_id, new, now, removes)
            version = new if added or removed else old
            if version != old:
                conn.execute(update(banks).where(banks.c.id == bank_id).values(version=version))
            duplicates = len(records) - added - removed
            conn.execute(
                insert(bank_versions).values(
                    bank_id=bank_id,
                    version=version,
                    at=now,
                    op="import" if adds or not removes else "remove",
                    source=source,
                    added=added,
                    duplicates=duplicates,
                    removed=removed,
                )
            )
        return ImportResult(name, version, added, duplicates, removed, len(records))

    def _entry(self, name: str, row: Row[Any]) -> BankEntry:
        return BankEntry(
            entry_id=row.id,
            bank=name,
            hash_type=row.hash_type,
            value=row.value,
            label=row.label,
            source=row.source,
            external_id=row.external_id,
            member=row.member,
            added_at=_utc(row.added_at),
            added_version=row.added_version,
            deleted=bool(row.deleted),
        )

    def iter_entries(
        self, name: str, *, hash_type: str | None = None, include_deleted: bool = False
    ) -> Iterator[BankEntry]:
        with self.engine.connect() as conn:
            bank_id = self._bank_id(conn, name)
            q = select(entries).where(entries.c.bank_id == bank_id).order_by(entries.c.id)
            if hash_type is not None:
                q = q.where(entries.c.hash_type == hash_type)
            if not include_deleted:
                q = q.where(entries.c.deleted.is_(False))
            result = conn.execution_options(yield_per=10_000).execute(q)
            try:  # close the server-side cursor even when the caller stops early
                for row in result:
                    yield self._entry(name, row)
            finally:
                result.close()

    def changes_since(self, name: str, version: int) -> BankChanges:
        """Changes after ``version``: apply ``removed`` first, then ``added``.

        ``added`` are live entries (re-)added after ``version``. ``removed`` are entries
        removed after ``version`` that existed at it (first added at or before it). An entry
        removed and revived after ``version`` is in both lists, so an index drops the stale
        copy and takes the new provenance; one that was itself a tombstone at ``version`` can
        be listed as removed too, so removing an id the index lacks must be a no-op.
        """
        e = entries.c
        with self.engine.connect() as conn:
            bank_id, current = self._current(conn, name)
            added = conn.execute(
                select(entries)
                .where(e.bank_id == bank_id, e.added_version > version, e.deleted.is_(False))
                .order_by(e.id)
            ).all()
            removed = conn.execute(
                select(e.id)
                .where(
                    e.bank_id == bank_id,
                    e.removed_version.is_not(None),
                    e.removed_version > version,
                    e.first_added_version <= version,
                )
                .order_by(e.id)
            ).scalars()
            return BankChanges(
                bank=name,
                from_version=version,
                to_version=current,
                added=[self._entry(name, r) for r in added],
                removed=[int(i) for i in removed],
            )

    def _current(self, conn: Connection, name: str) -> tuple[int, int]:
        row = conn.execute(select(banks.c.id, banks.c.version).where(banks.c.name == name)).first()
        if row is None:
            raise BankNotFound(f"no bank named {name!r}")
        return int(row.id), int(row.version)

    # allow-list ----------------------------------------------------------------------------

    def add_allowed(self, name: str, hash_type: str, values: Iterable[str], reason: str) -> int:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            bank_id, _ = self._lock(conn, name)
            have = set(
                conn.execute(
                    select(allowlist.c.value).where(
                        allowlist.c.bank_id == bank_id, allowlist.c.hash_type == hash_type
                    )
                ).scalars()
            )
            new = [v for v in dict.fromkeys(values) if v not in have]
            if new:
                conn.execute(
                    insert(allowlist),
                    [
                        {
                            "bank_id": bank_id,
                            "hash_type": hash_type,
                            "value": v,
                            "reason": reason,
                            "added_at": now,
                        }
                        for v in new
                    ],
                )
        return len(new)

    def remove_allowed(self, name: str, hash_type: str, values: Iterable[str]) -> int:
        vals = list(dict.fromkeys(values))
        with self.engine.begin() as conn:
            bank_id, _ = self._lock(conn, name)
            n = 0
            for i in range(0, len(vals), 500):  # stay under bound-parameter limits
                n += conn.execute(
                    delete(allowlist).where(
                        allowlist.c.bank_id == bank_id,
                        allowlist.c.hash_type == hash_type,
                        allowlist.c.value.in_(vals[i : i + 500]),
                    )
                ).rowcount
        return n

    def allowed(self, name: str) -> list[AllowedHash]:
        with self.engine.connect() as conn:
            bank_id = self._bank_id(conn, name)
            rows = conn.execute(
                select(allowlist).where(allowlist.c.bank_id == bank_id).order_by(allowlist.c.id)
            ).all()
        return [AllowedHash(name, r.hash_type, r.value, r.reason, _utc(r.added_at)) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
