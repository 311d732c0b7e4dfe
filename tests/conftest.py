"""Shared fixtures: a ``store`` on SQLite and on PostgreSQL, and isolated ``settings``.

Every store test runs on both databases. PostgreSQL tests get a fresh schema in the
``test`` database (``CHILDSAFE_TEST_POSTGRES_URL``), dropped afterwards, so they can run in
parallel and leave nothing behind. Where PostgreSQL is unreachable they skip locally but
FAIL in CI (``CI=true``): a CI run that silently tested only SQLite would be a lie.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from childsafe.config import Settings
from childsafe.storage import SqlBankStore, open_store

PG_URL = os.environ.get(
    "CHILDSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_admin() -> object:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL unreachable at {PG_URL} in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}")
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlBankStore]:
    """A fresh, migrated bank store on each database."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'banks.db'}")
        yield s
        s.close()
        return
    admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        s = open_store(PG_URL, schema=schema)
        yield s
        s.close()
    finally:
        with admin.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with ``CHILDSAFE_HOME`` in a temporary directory."""
    monkeypatch.setenv("CHILDSAFE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHILDSAFE_DATABASE_URL", raising=False)
    return Settings()
