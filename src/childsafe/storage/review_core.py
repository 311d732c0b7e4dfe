"""What every part of :class:`~childsafe.storage.review.SqlCaseStore` shares.

* **Transactions write first.** On SQLite every changing call starts ``BEGIN IMMEDIATE``
  (the write lock up front, behind an in-process lock so threads hand over at once instead
  of polling), so a check made inside it ("is the case still unassigned?") cannot be
  overtaken. On PostgreSQL the rows a call checks are read ``FOR UPDATE``. Locks are always
  taken case row(s) first and the audit chain head last, so two calls never wait on each
  other in a cycle.
* **Audit inside.** Each change appends its audit event with the same connection
  (``SqlAuditLog.append(event, conn=...)``): the change and its entry commit together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, select

from childsafe.audit.base import AuditEvent
from childsafe.config import Settings
from childsafe.errors import ReviewError
from childsafe.review.base import Case, Reviewer
from childsafe.review.errors import CaseNotFound
from childsafe.review.sla import sla_hours
from childsafe.storage._common import check_tenant
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.errors import StoreError
from childsafe.storage.models_review import cases
from childsafe.storage.review_people import active_reviewer
from childsafe.storage.review_rows import to_case


def tenant_ok(tenant: str) -> str:
    try:
        return check_tenant(tenant)
    except StoreError as exc:
        raise ReviewError(str(exc)) from None


def who(reviewer: str) -> str:
    """The audit actor of a reviewer's action."""
    return f"reviewer:{reviewer}"


TransitionHook = Callable[[Connection, Case, Case], None]


class CaseStoreCore:
    """Engine, audit log, settings, transactions and the loaders the parts share."""

    def __init__(self, engine: Engine, audit: SqlAuditLog, settings: Settings) -> None:
        self.engine = engine
        self.audit = audit
        self.settings = settings
        self.sla = sla_hours(settings.sla_hours)
        self.second_review = bool(settings.second_review)
        self.default_reveals = int(settings.reviewer_daily_reveals)
        self._sqlite = engine.dialect.name == "sqlite"
        self._pg = engine.dialect.name == "postgresql"
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self._sqlite else nullcontext()
        )
        # Called as hook(conn, before, after) inside the transaction that moved a case from
        # one state to another: what must happen with the change or not at all (the action
        # outbox) hooks in here, so a takedown is never lost between two commits.
        self.transition_hooks: list[TransitionHook] = []

    def _transitioned(self, conn: Connection, before: Case, after: Case) -> None:
        if before.state is not after.state:
            for hook in self.transition_hooks:
                hook(conn, before, after)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A writing transaction (see the module docstring)."""
        with self._write_lock, self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def _log(
        self,
        conn: Connection,
        tenant: str,
        actor: str,
        action: str,
        target: tuple[str, object],
        details: Mapping[str, Any] | None = None,
    ) -> None:
        event = AuditEvent(tenant, actor, action, target[0], str(target[1]), dict(details or {}))
        self.audit.append(event, conn=conn)

    def _case(self, conn: Connection, tenant: str, case_id: int, *, lock: bool = False) -> Case:
        c = cases.c
        q = select(cases).where(c.tenant == tenant, c.id == int(case_id))
        if lock and self._pg:
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise CaseNotFound(f"tenant {tenant!r} has no case {case_id}")
        return to_case(row)

    def _first_reviewer(self, conn: Connection, case_id: int) -> str | None:
        value = conn.execute(select(cases.c.first_reviewer).where(cases.c.id == case_id)).scalar()
        return None if value is None else str(value)

    def _reviewer(self, conn: Connection, tenant: str, username: str) -> Reviewer:
        return active_reviewer(conn, tenant, username)
