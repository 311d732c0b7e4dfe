"""What the routes use, built once per app: the store, the screener, the rate limiter.

Why one object on ``app.state``: the app is a factory (STYLE 15), so nothing is built at
import time, and tests hand in a real store and screener of their own (SQLite and
PostgreSQL) while ``childsafe serve`` builds them from the settings. Routes reach it through
the ``ServicesDep`` dependency, never through a module-level global.

Readiness: models are loaded in a background thread after start-up (``warm_up``), so the
process answers ``/healthz`` at once while ``/readyz`` says 503 until the models the default
tenant's policy needs are in memory; a load balancer sends traffic only then.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from childsafe.banks.base import BankStore
from childsafe.config import Settings
from childsafe.screening.screener import Screener
from childsafe.storage import SqlBankStore, open_store
from childsafe.storage.desk import Desk, open_desk
from childsafe.tenancy.base import AccessStore
from childsafe.web.limits import RateLimiter

log = logging.getLogger("childsafe.web")


def index_root(settings: Settings) -> Path:
    """Saved indexes per database (as the CLI keeps them), so two databases never share."""
    key = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:16]
    return settings.index_dir / key / "service"


@dataclass
class Warmup:
    """State of the background model load: ``done`` and the problems it found."""

    done: threading.Event = field(default_factory=threading.Event)
    problems: list[str] = field(default_factory=list)


@dataclass
class Services:
    settings: Settings
    store: SqlBankStore
    screener: Screener
    limiter: RateLimiter
    owns_store: bool = False
    warmup: Warmup = field(default_factory=Warmup)
    desk: Desk | None = None  # review, evidence, reports, actions (see storage/desk.py)

    @property
    def access(self) -> AccessStore:
        return self.store.access

    def banks(self, tenant: str) -> BankStore:
        """The tenant's banks: a view that cannot reach any other tenant's."""
        return self.store.for_tenant(tenant)

    def database_problem(self) -> str | None:
        """None when the database answers a trivial query, else why not (no secrets)."""
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database unreachable: {type(exc).__name__}"
        return None

    def start_warm_up(self) -> None:
        """Load the default tenant's models in a daemon thread (see the module docstring)."""

        def run() -> None:
            try:
                self.warmup.problems = self.screener.warm_up(self.settings.default_tenant)
            except Exception as exc:
                self.warmup.problems = [f"warm-up failed: {type(exc).__name__}: {exc}"]
            for problem in self.warmup.problems:
                log.warning("warm-up: %s", problem)
            self.warmup.done.set()

        threading.Thread(target=run, name="childsafe-warm-up", daemon=True).start()

    def close(self) -> None:
        if self.owns_store:
            self.store.close()


def build_services(
    settings: Settings,
    *,
    store: SqlBankStore | None = None,
    screener: Screener | None = None,
) -> Services:
    """Services from what is given, the rest from ``settings`` (the store opened and migrated)."""
    owns = store is None
    if store is None:
        if settings.database_url is None:
            settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    try:
        if screener is None:
            screener = Screener(
                banks_for=store.for_tenant,
                policies_for=store.policies,
                decision_log=store.decisions,
                settings=settings,
                index_dir=index_root(settings),
            )
        limiter = RateLimiter(settings.rate_limit_per_minute)
        desk = open_desk(store, settings)
        if screener.case_sink is None:
            screener.case_sink = desk.intake_decision
    except Exception:
        if owns:
            store.close()
        raise
    return Services(settings, store, screener, limiter, owns_store=owns, desk=desk)
