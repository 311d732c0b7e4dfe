"""What the console's routes use: the case store, the evidence store, the audit log, the signer.

Why built lazily from the screening app's services: the console is mounted by
``create_app`` before its lifespan has opened the database, and tests hand the app a store of
their own (SQLite or PostgreSQL). On the first request the console takes that store's engine
and builds the review stores over it, once per started app (a restarted app in the same
process gets fresh ones). Where the database has no review tables yet (migration 0005 not
applied) every console page answers 503 saying so, rather than failing deep inside a query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import inspect

from childsafe.audit.base import AuditLog
from childsafe.config import Settings
from childsafe.errors import ConfigError
from childsafe.evidence.base import EvidenceStore
from childsafe.review.base import CaseStore
from childsafe.storage.actions import SqlHashLedger, SqlOutbox
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.desk import Desk
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.models_review import cases as cases_table
from childsafe.storage.reporting import SqlReportStore
from childsafe.storage.review import SqlCaseStore
from childsafe.web.console.auth import Signer


class ConsoleUnavailable(ConfigError):
    """The database lacks the review tables (or the app has not started)."""


@dataclass
class ConsoleServices:
    settings: Settings
    cases: CaseStore
    evidence: EvidenceStore
    audit: AuditLog
    signer: Signer
    # Decisions go through the desk so their consequences (action events, the re-upload
    # bank) follow whichever front end made them; see storage/desk.py.
    desk: Desk


_lock = threading.Lock()


def _cached(console: FastAPI, base: object) -> ConsoleServices | None:
    built = getattr(console.state, "built", None)
    if built is not None and built[0] is base and isinstance(built[1], ConsoleServices):
        return built[1]
    return None


def console_services(console: FastAPI) -> ConsoleServices:
    """The console's services for the app it is mounted in (built on first use)."""
    parent: FastAPI = console.state.parent
    settings: Settings = console.state.settings
    base: Any = getattr(parent.state, "services", None)
    if base is None:
        raise ConsoleUnavailable("the service has not finished starting; try again shortly")
    found = _cached(console, base)
    if found is not None:
        return found
    with _lock:
        found = _cached(console, base)
        if found is not None:
            return found
        engine = base.store.engine
        if not inspect(engine).has_table(cases_table.name):
            raise ConsoleUnavailable(
                "the review console needs the review tables (migration 0005); "
                "upgrade the database first"
            )
        desk: Desk | None = getattr(base, "desk", None)
        if desk is None:  # an app built without the review desk: the stores alone
            audit = SqlAuditLog(engine)
            desk = Desk(
                settings=settings,
                store=base.store,
                audit=audit,
                evidence=SqlEvidenceStore(engine, audit, settings),
                cases=SqlCaseStore(engine, audit, settings),
                reports=SqlReportStore(engine, audit),
                outbox=SqlOutbox(engine, audit),
                ledger=SqlHashLedger(engine, audit),
            )
        built = ConsoleServices(
            settings=settings,
            cases=desk.cases,
            evidence=desk.evidence,
            audit=desk.audit,
            signer=console.state.signer,
            desk=desk,
        )
        console.state.built = (base, built)
        return built
