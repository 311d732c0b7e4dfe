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
from sqlalchemy import Engine, create_engine, event, text
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
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed data
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch big index pages
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration; cheap when it is already there.

    On PostgreSQL an advisory lock serialises processes that open the same database at once.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
