"""Fixtures of the storage tests (the ``store`` fixture itself is in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from childsafe.storage import SqlBankStore


@pytest.fixture
def store_location(store: SqlBankStore) -> tuple[str, str | None]:
    """``(url, schema)`` that ``open_store`` needs to open ``store``'s database again,
    from another engine or another process."""
    url = store.engine.url.render_as_string(hide_password=False)
    if store.engine.dialect.name != "postgresql":
        return url, None
    with store.engine.connect() as conn:
        return url, str(conn.execute(text("SELECT current_schema()")).scalar())
