"""Storage implementations (a leaf layer: the domain never imports it).

``open_store(url)`` returns a :class:`SqlBankStore` on SQLite (the embedded default) or
PostgreSQL (``postgresql://`` or ``postgresql+psycopg://``), with the schema migrated to the
newest Alembic revision, so a fresh file or an empty schema just works.
"""

from __future__ import annotations

from childsafe.storage.engine import make_engine, upgrade_schema
from childsafe.storage.sql import SqlBankStore

__all__ = ["SqlBankStore", "open_store"]


def open_store(url: str, *, schema: str | None = None) -> SqlBankStore:
    """Open (and migrate) the store at ``url``; ``schema`` selects a PostgreSQL schema."""
    engine = make_engine(url, schema=schema)
    try:
        upgrade_schema(engine)
    except Exception:
        engine.dispose()
        raise
    return SqlBankStore(engine)
