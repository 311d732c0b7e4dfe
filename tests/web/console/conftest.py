"""The console on the real app over the real store (SQLite and PostgreSQL), real SQL stores.

``review`` opens the case store, evidence store and audit log on the test's database;
``people(name, ...)`` adds accounts of ``PEOPLE`` (one per role, a metadata-only and a
limited reviewer) on first use;
``browser_for(username)`` is a logged-in TestClient with its own cookie jar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.console.helpers import ConsoleClient, People, Review, login

from childsafe.config import Settings
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.review import SqlCaseStore
from childsafe.web.app import create_app


@pytest.fixture
def review(store: SqlBankStore, settings: Settings) -> Review:
    audit = SqlAuditLog(store.engine)
    return Review(
        SqlCaseStore(store.engine, audit, settings),
        SqlEvidenceStore(store.engine, audit, settings),
        audit,
    )


@pytest.fixture
def people(review: Review) -> People:
    return People(review)


@pytest.fixture
def app(store: SqlBankStore, settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings, store=store, warm_up=False)
    with TestClient(application):
        yield application


@pytest.fixture
def browser_for(app: FastAPI, people: People) -> Callable[[str], ConsoleClient]:
    """``browser_for(name)`` → a TestClient signed in as ``name`` (``.csrf`` set)."""

    def make(name: str) -> ConsoleClient:
        people(name)
        client = ConsoleClient(app)
        client.csrf = login(client, name)
        return client

    return make
