"""Migration 0003 on a database with banks made before tenants, and back down again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from childsafe.banks.base import ImportRecord
from childsafe.storage import SqlBankStore
from childsafe.storage.engine import MIGRATIONS, _foreign_keys, make_engine, upgrade_schema


def _migrate(store: SqlBankStore, target: str, down: bool = False) -> None:
    """Run Alembic as a developer would (foreign keys off on SQLite, as in upgrade_schema)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.connect() as conn:
        if sqlite:
            _foreign_keys(conn, on=False)
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                (command.downgrade if down else command.upgrade)(cfg, target)
        finally:
            if sqlite:
                _foreign_keys(conn, on=True)


def _counts(store: SqlBankStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("banks", "entries", "bank_versions", "allowlist")
        }


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def test_existing_banks_become_the_default_tenants(store: SqlBankStore) -> None:
    _migrate(store, "0002", down=True)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        assert _revision(conn) == "0002"
        bank_id = conn.execute(
            text(
                "INSERT INTO banks (name, version, description, pdq_radius,"
                " pdq_quality_floor, created_at) VALUES ('old', 1, '', 31, 50, :now)"
                " RETURNING id"
            ),
            {"now": now},
        ).scalar_one()
        row = {"b": bank_id, "now": now}
        conn.execute(
            text(
                "INSERT INTO entries (bank_id, hash_type, value, added_at, added_version,"
                " first_added_version, deleted) VALUES (:b, 'md5', :v, :now, 1, 1, false)"
            ),
            row | {"v": "b" * 32},
        )
        conn.execute(
            text(
                "INSERT INTO bank_versions (bank_id, version, at, op, source, added,"
                " duplicates, removed) VALUES (:b, 1, :now, 'import', 's', 1, 0, 0)"
            ),
            row,
        )
        conn.execute(
            text(
                "INSERT INTO allowlist (bank_id, hash_type, value, reason, added_at)"
                " VALUES (:b, 'md5', :v, 'benign', :now)"
            ),
            row | {"v": "c" * 32},
        )
    before = _counts(store)
    upgrade_schema(store.engine)
    with store.engine.connect() as conn:
        assert _revision(conn) == _head()
    # SQLite rebuilds "banks": with foreign keys on, that would cascade-delete these.
    assert (
        _counts(store) == before == {"banks": 1, "entries": 1, "bank_versions": 1, "allowlist": 1}
    )
    bank = store.get_bank("old")
    assert (bank.tenant, bank.version, bank.entry_count) == ("default", 1, 1)
    assert [a.value for a in store.allowed("old")] == ["c" * 32]
    res = store.apply("old", [ImportRecord("md5", "a" * 32)], source="s")
    assert (res.version, res.added) == (2, 1)
    # Names are now unique per tenant, not globally …
    store.for_tenant("acme").create_bank("old")
    # … and still unique within one.
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO banks (tenant, name, version, description, pdq_radius,"
                " pdq_quality_floor, created_at) VALUES ('acme', 'old', 0, '', 31, 50, :now)"
            ),
            {"now": now},
        )
    assert [t.name for t in store.access.list_tenants()] == ["default"]


def test_downgrade_and_upgrade_again(store: SqlBankStore) -> None:
    store.create_bank("kept")
    store.apply("kept", [ImportRecord("md5", "d" * 32)], source="s")
    store.add_allowed("kept", "md5", ["e" * 32], "benign")
    before = _counts(store)
    _migrate(store, "0002", down=True)
    with store.engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM banks")).scalars())
        assert names == {"kept"}
        tables = set(inspect(conn).get_table_names())
    assert not {"tenants", "api_keys", "decisions", "policies"} & tables
    assert _counts(store) == before
    upgrade_schema(store.engine)
    assert store.get_bank("kept").tenant == "default"
    assert _counts(store) == before


def test_processes_opening_an_old_database_at_once_migrate_it_once(
    store: SqlBankStore, store_location: tuple[str, str | None]
) -> None:
    store.create_bank("kept")
    _migrate(store, "0002", down=True)
    url, schema = store_location
    engines = [make_engine(url, schema=schema) for _ in range(3)]
    errors: list[BaseException] = []

    def opener(engine: Engine) -> None:
        try:
            upgrade_schema(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert errors == []
    with store.engine.connect() as conn:
        assert _revision(conn) == _head()
    assert [b.name for b in store.list_banks()] == ["kept"]
