"""The real app over the real store (SQLite and PostgreSQL) and the real screener.

``api`` is a TestClient on ``create_app(settings, store=store)``: the screener is built by
the app from that store, exactly as ``childsafe serve`` builds it. ``keys`` makes API keys
(and their tenants) through the real access store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import Headers, KeyMaker

from childsafe.config import Settings
from childsafe.storage import SqlBankStore
from childsafe.tenancy.base import Scope
from childsafe.web.app import create_app


@pytest.fixture
def make_app(store: SqlBankStore, settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """A started app on this test's store; keyword arguments override settings."""
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        s = settings.model_copy(update=overrides) if overrides else settings
        client = TestClient(create_app(s, store=store, warm_up=False))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_app: Callable[..., TestClient]) -> TestClient:
    return make_app()


@pytest.fixture
def keys(store: SqlBankStore) -> KeyMaker:
    """``keys(tenant, *scopes)`` → request headers with a fresh key (tenant made on demand)."""
    made: set[str] = {t.name for t in store.access.list_tenants()}

    def make(tenant: str = "acme", *scopes: Scope) -> Headers:
        if tenant not in made:
            store.access.create_tenant(tenant)
            made.add(tenant)
        _, token = store.access.create_key(tenant, frozenset(scopes or (Scope.ADMIN,)))
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def admin(keys: KeyMaker) -> Headers:
    return keys("acme", Scope.ADMIN)
