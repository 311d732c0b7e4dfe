"""Engines for SQLite and PostgreSQL, and the schema upgrade run on open.

SQLite is the embedded default, so it gets the settings that make it safe to share between
a CLI and a service: WAL (readers never block the writer), foreign keys on (they are off by
default, and bank deletion relies on ON DELETE CASCADE), and a busy timeout so a second
writer waits instead of failing. pysqlite's own transaction handling is switched off and
SQLAlchemy emits ``BEGIN`` itself, the recipe in SQLAlchemy's SQLite docs, so every
statement of a transaction (DDL for the temp table included) is really inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from childsafe.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
# Any constant works: it only has to be the same for every childsafe process.
_MIGRATION_LOCK = 0x63686C64


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``url``; ``postgresql://`` means psycopg 3, ``schema`` sets search_path."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # With WAL, NORMAL loses no committed transaction when a process dies (a restart); a
    # power cut may lose the last few, which FULL (an fsync per commit) would keep.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch big index pages
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # ``sqlite_begin="IMMEDIATE"`` (an execution option) takes the write lock up front.
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration; cheap when it is already there.

    Processes that open the same database at once migrate one at a time: on PostgreSQL an
    advisory lock serialises them, on SQLite ``BEGIN IMMEDIATE`` (the revision is read again
    under the lock, so the second finds the work done). A database already at the head is
    only read, so opening one never waits for a long bank import to finish.

    SQLite migrations run with foreign keys off, as SQLite's own procedure for changing a
    table demands: batch mode rebuilds a table (copy, drop, rename), and dropping ``banks``
    with foreign keys on would cascade-delete every bank's version log and allow-list.
    ``PRAGMA foreign_key_check`` must come back empty before the migration commits.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        with engine.connect() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
    with engine.connect() as conn:
        if sqlite:
            _foreign_keys(conn, on=False)  # outside any transaction, or it is a no-op
            conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                if MigrationContext.configure(conn).get_current_revision() == head:
                    return
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite and (bad := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise ConfigError(f"migration left rows with dangling foreign keys: {bad[:5]}")
        finally:
            if sqlite:
                _foreign_keys(conn, on=True)


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign keys on the raw connection (pysqlite is in autocommit)."""
    conn.connection.driver_connection.execute(  # type: ignore[union-attr]
        f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"
    )
