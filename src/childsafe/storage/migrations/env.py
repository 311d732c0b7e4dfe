"""Alembic environment for childsafe's schema.

The store runs ``upgrade head`` itself on open and hands its connection in through
``config.attributes["connection"]``, so a fresh SQLite file or an empty PostgreSQL schema
just works; the command-line path (``sqlalchemy.url`` in the config) is for developers.
Batch mode makes ALTERs work on SQLite, which cannot alter most things in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from childsafe.storage.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
