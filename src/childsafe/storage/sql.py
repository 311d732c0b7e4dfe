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

Tenancy: a store sees one tenant's banks (``tenant``), and :meth:`SqlBankStore.for_tenant`
returns a view of the same engine as another tenant. Every statement that names a bank
resolves (tenant, name) to the bank's id first, and entries, version log and allow-list are
only ever reached through that id, so a view can neither see nor touch another tenant's
bank, even one of the same name. The service's stores (``access``, ``decisions``,
``policies``) hang off the store so one ``open_store`` gives the service everything.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Row,
    String,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError

from childsafe.banks.base import (
    DEFAULT_TENANT,
    AllowedHash,
    Bank,
    BankChanges,
    BankEntry,
    BankStore,
    ImportRecord,
    ImportResult,
)
from childsafe.banks.batch import RecordBatch
from childsafe.errors import BankError, BankNotFound, ConfigError
from childsafe.storage import bulk
from childsafe.storage._common import check_tenant
from childsafe.storage._common import utc as _utc
from childsafe.storage.access import SqlAccessStore
from childsafe.storage.decisions import SqlDecisionLog
from childsafe.storage.models import allowlist, bank_versions, banks, entries
from childsafe.storage.policies import SqlPolicyStore
from childsafe.storage.staging import stage

# Where other tenants' saved indexes live under an index root: bank_dir() quotes '@', so no
# bank's directory can be called this.
_TENANT_INDEXES = "@tenants"


class _Timestamps:
    """Raw ``added_at`` values (SQLite text, or psycopg datetimes) to UTC, memoised."""

    def __init__(self, conn: Connection) -> None:
        impl = DateTime(timezone=True).dialect_impl(conn.dialect)
        self._parse = impl.result_processor(conn.dialect, None)
        self._seen: dict[object, datetime] = {}

    def __call__(self, raw: object) -> datetime:
        dt = self._seen.get(raw)
        if dt is None:
            parsed = self._parse(raw) if self._parse and isinstance(raw, str) else raw
            if not isinstance(parsed, datetime):  # pragma: no cover - defensive
                raise TypeError(f"unexpected timestamp {raw!r}")
            dt = self._seen[raw] = _utc(parsed)
        return dt


class SqlBankStore(BankStore):
    """Banks in SQLite or PostgreSQL; build one with :func:`childsafe.storage.open_store`.

    ``decisions`` and ``policies`` are the service's decision log and policy store;
    ``access`` (tenants and API keys) needs the deployment's ``secret_key``.
    """

    def __init__(
        self, engine: Engine, *, tenant: str = DEFAULT_TENANT, secret_key: str | None = None
    ) -> None:
        self.engine = engine
        self.tenant = check_tenant(tenant)
        self.decisions = SqlDecisionLog(engine)
        self.policies = SqlPolicyStore(engine)
        self._access = SqlAccessStore(engine, secret_key) if secret_key else None
        self._owns_engine = True

    @property
    def access(self) -> SqlAccessStore:
        """Tenants and API keys (keyed with the ``secret_key`` the store was opened with)."""
        if self._access is None:
            raise ConfigError("this store was opened without a secret key: no API keys")
        return self._access

    def for_tenant(self, tenant: str) -> SqlBankStore:
        """The same store seen as ``tenant``: its banks only. Closing it closes nothing.

        The name must be a valid slug but need not be a row of ``tenants``: the CLI's
        default tenant may never have been created there. The service only ever asks for
        the tenant of a verified key, which is.
        """
        view = copy.copy(self)
        view.tenant = check_tenant(tenant)
        view._owns_engine = False
        return view

    def index_dir(self, root: Path) -> Path:
        """Where this tenant's matcher saves its indexes under ``root``.

        ``Matcher`` names saved indexes by bank name, and names repeat across tenants: two
        tenants sharing a directory would each keep rebuilding over the other's files (a
        saved index records its bank's creation time, so one is never *matched* against
        the wrong bank, only rebuilt). The default tenant keeps ``root`` itself, where
        indexes were saved before tenants.
        """
        root = Path(root)
        return root if self.tenant == DEFAULT_TENANT else root / _TENANT_INDEXES / self.tenant

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
                        tenant=self.tenant,
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
        return select(banks, live.label("entry_count")).where(banks.c.tenant == self.tenant)

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
            tenant=row.tenant,
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
        """Delete the bank row first, then its entries, in one transaction.

        ``entries.bank_id`` has no foreign key (see ``storage.bulk``), so this is what keeps
        entries from outliving their bank. Deleting the bank row first takes its lock: an
        import in progress finishes first and its entries are deleted here too (the second
        statement sees them), and an import that starts later finds no bank.
        """
        with self.engine.begin() as conn:
            bank_id = conn.execute(
                delete(banks).where(*self._named(name)).returning(banks.c.id)
            ).scalar()
            if bank_id is None:
                raise BankNotFound(f"no bank named {name!r}")
            conn.execute(delete(entries).where(entries.c.bank_id == bank_id))

    def _named(self, name: str) -> tuple[Any, Any]:
        """The WHERE clause of "this tenant's bank called ``name``"."""
        return banks.c.tenant == self.tenant, banks.c.name == name

    def _bank_id(self, conn: Connection, name: str) -> int:
        bank_id = conn.execute(select(banks.c.id).where(*self._named(name))).scalar()
        if bank_id is None:
            raise BankNotFound(f"no bank named {name!r}")
        return int(bank_id)

    def _lock(self, conn: Connection, name: str) -> tuple[int, int]:
        row = conn.execute(
            update(banks)
            .where(*self._named(name))
            .values(version=banks.c.version)
            .returning(banks.c.id, banks.c.version)
        ).first()
        if row is None:
            raise BankNotFound(f"no bank named {name!r}")
        return int(row.id), int(row.version)

    # entries -------------------------------------------------------------------------------

    def apply(self, name: str, records: Sequence[ImportRecord], *, source: str) -> ImportResult:
        adds, removes = stage(RecordBatch.of(records))
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            bank_id, old = self._lock(conn, name)
            new = old + 1
            added = removed = 0
            if adds is not None:
                added = bulk.insert_new(conn, bank_id, new, now, adds)
                if added < len(adds):  # some were there already, maybe as tombstones
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
                    op="import" if adds is not None or not removes else "remove",
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
        """Stream entries (server-side cursor on PostgreSQL, ``yield_per`` batches).

        A million entries share a handful of ``added_at`` values (one per import), so
        timestamps are read raw and converted once per distinct value: on SQLite the
        per-row string parsing was the largest cost after building the entries.
        """
        e = entries.c
        cols = (e.id, e.hash_type, e.value, e.label, e.source, e.external_id, e.member,
                type_coerce(e.added_at, String), e.added_version, e.deleted)  # fmt: skip
        with self.engine.connect() as conn:
            bank_id = self._bank_id(conn, name)
            q = select(*cols).where(e.bank_id == bank_id).order_by(e.id)
            if hash_type is not None:
                q = q.where(e.hash_type == hash_type)
            if not include_deleted:
                q = q.where(e.deleted.is_(False))
            at = _Timestamps(conn)
            result = conn.execution_options(yield_per=10_000).execute(q)
            try:  # close the server-side cursor even when the caller stops early
                for i, ht, v, label, src, ext, member, added, version, deleted in result:
                    yield BankEntry(i, name, ht, v, label, src, ext, member, at(added), version,
                                    bool(deleted))  # fmt: skip
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
        row = conn.execute(select(banks.c.id, banks.c.version).where(*self._named(name))).first()
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
        if self._owns_engine:
            self.engine.dispose()
