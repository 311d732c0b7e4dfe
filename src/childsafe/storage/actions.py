"""``SqlOutbox`` and ``SqlHashLedger``: the action outbox and confirmed-hash ledger in SQL.

* **Same transaction as the change.** ``enqueue(event, conn=conn)`` writes with the
  caller's connection and does not commit, so a case's ``actioned`` state and its takedown
  event commit together or not at all. Without ``conn`` it is its own transaction.
* **Idempotent.** ``event_id`` is unique; enqueuing it again (a retried request, a crash
  before the caller saw the commit) is an ``INSERT ... ON CONFLICT DO NOTHING`` that keeps
  the first event and writes no second audit entry.
* **Leases, not locks.** A dispatcher claims a due row by a conditional UPDATE of
  ``locked_until`` (the same statement on both databases; the row goes to whoever's UPDATE
  matched), so two overlapping cron runs never send one entry at the same time, and a
  dispatcher killed mid-pass only delays its rows until the lease runs out.
* **Audited.** Enqueue, delivery, each failed attempt, dead-lettering and an operator's
  retry write an audit event in the same transaction (own rows first, then the entry, as
  ``SqlAuditLog`` asks of SQLite callers).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Row, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from childsafe.actions.base import (
    ActionEvent,
    ActionKind,
    Contribution,
    DeliveryState,
    HashLedger,
    Outbox,
    OutboxEntry,
)
from childsafe.audit.base import AuditEntry, AuditEvent
from childsafe.errors import ActionError
from childsafe.storage._common import check_tenant, to_utc, utc
from childsafe.storage.models_actions import action_hashes, action_outbox

MAX_LIST = 10_000


class TxAudit(Protocol):
    """An audit log that can append inside a caller's transaction (``SqlAuditLog``)."""

    def append(self, event: AuditEvent, *, conn: Connection | None = None) -> AuditEntry: ...


def _opt(dt: datetime | None) -> datetime | None:
    return None if dt is None else utc(dt)


def _entry(r: Row[Any]) -> OutboxEntry:
    event = ActionEvent(
        tenant=r.tenant,
        kind=ActionKind(r.kind),
        subject_kind=r.subject_kind,
        subject_id=r.subject_id,
        case_id=None if r.case_id is None else int(r.case_id),
        data=dict(r.data or {}),
        event_id=r.event_id,
        created_at=utc(r.created_at),
    )
    return OutboxEntry(
        id=int(r.id),
        event=event,
        state=DeliveryState(r.state),
        attempts=int(r.attempts),
        next_attempt_at=utc(r.next_attempt_at),
        last_status=r.last_status,
        last_error=r.last_error,
        delivered_at=_opt(r.delivered_at),
        dead_at=_opt(r.dead_at),
    )


class _Sql:
    def __init__(self, engine: Engine, audit: TxAudit | None) -> None:
        self.engine = engine
        self.audit = audit
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as own:
            yield own

    def _audit(self, conn: Connection, event: AuditEvent) -> None:
        if self.audit is not None:
            self.audit.append(event, conn=conn)


class SqlOutbox(_Sql, Outbox):
    """The outbox; ``audit`` (a ``SqlAuditLog`` on the same engine) records every change."""

    def __init__(self, engine: Engine, audit: TxAudit | None = None) -> None:
        super().__init__(engine, audit)
        # RETURNING tells whether a row went in: psycopg's rowcount is -1 for such inserts.
        self._insert = (
            self._dialect.insert(action_outbox)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(action_outbox.c.id)
        )

    def enqueue(self, event: ActionEvent, *, conn: Any = None) -> OutboxEntry:
        check_tenant(event.tenant)
        row = {
            "event_id": event.event_id,
            "tenant": event.tenant,
            "kind": ActionKind(event.kind).value,
            "case_id": event.case_id,
            "subject_kind": event.subject_kind,
            "subject_id": event.subject_id,
            "data": dict(event.data),
            "created_at": to_utc(event.created_at),
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": to_utc(event.created_at),
        }
        with self._tx(conn) as c:
            inserted = c.execute(self._insert, row).first() is not None
            found = c.execute(
                select(action_outbox).where(action_outbox.c.event_id == event.event_id)
            ).one()
            if inserted:
                self._audit(c, self._event(found, "action.enqueue", {"kind": row["kind"]}))
        return _entry(found)

    @staticmethod
    def _event(r: Row[Any], action: str, details: dict[str, Any]) -> AuditEvent:
        base = {"event_id": r.event_id, "case_id": r.case_id}
        return AuditEvent(
            tenant=r.tenant,
            actor="system:actions",
            action=action,
            target_type="action",
            target_id=str(r.id),
            details=base | details,
        )

    def get(self, entry_id: int) -> OutboxEntry:
        with self.engine.connect() as conn:
            row = conn.execute(select(action_outbox).where(action_outbox.c.id == entry_id)).first()
        if row is None:
            raise ActionError(f"no outbox entry {entry_id}")
        return _entry(row)

    def claim_due(self, now: datetime, *, limit: int, lease_s: float) -> builtins.list[OutboxEntry]:
        c = action_outbox.c
        now = to_utc(now)
        free = or_(c.locked_until.is_(None), c.locked_until <= now)
        due = and_(c.state == DeliveryState.PENDING.value, c.next_attempt_at <= now, free)
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(c.id).where(due).order_by(c.next_attempt_at, c.id).limit(limit)
            ).scalars()
            candidates = [int(i) for i in ids]
        claimed: list[OutboxEntry] = []
        until = now + timedelta(seconds=lease_s)
        for entry_id in candidates:
            with self.engine.begin() as conn:
                res = conn.execute(
                    update(action_outbox).where(c.id == entry_id, due).values(locked_until=until)
                )
                if res.rowcount == 1:
                    row = conn.execute(select(action_outbox).where(c.id == entry_id)).one()
                    claimed.append(_entry(row))
        return claimed

    def _change(
        self, entry_id: int, values: dict[str, Any], action: str, details: dict[str, Any]
    ) -> OutboxEntry:
        c = action_outbox.c
        with self.engine.begin() as conn:
            res = conn.execute(update(action_outbox).where(c.id == entry_id).values(**values))
            if res.rowcount != 1:
                raise ActionError(f"no outbox entry {entry_id}")
            row = conn.execute(select(action_outbox).where(c.id == entry_id)).one()
            self._audit(conn, self._event(row, action, details))
        return _entry(row)

    def mark_delivered(self, entry_id: int, *, status: int, now: datetime) -> OutboxEntry:
        values = {
            "state": DeliveryState.DELIVERED.value,
            "attempts": action_outbox.c.attempts + 1,
            "delivered_at": to_utc(now),
            "last_status": status,
            "last_error": None,
            "locked_until": None,
        }
        return self._change(entry_id, values, "action.delivered", {"status": status})

    def mark_failed(
        self,
        entry_id: int,
        *,
        status: int | None,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> OutboxEntry:
        dead = retry_at is None
        values: dict[str, Any] = {
            "attempts": action_outbox.c.attempts + 1,
            "last_status": status,
            "last_error": error,
            "locked_until": None,
        }
        if dead:
            values |= {"state": DeliveryState.DEAD.value, "dead_at": to_utc(now)}
        else:
            assert retry_at is not None
            values |= {"next_attempt_at": to_utc(retry_at)}
        action = "action.dead_letter" if dead else "action.attempt_failed"
        details: dict[str, Any] = {"status": status, "error": error[:200]}
        if retry_at is not None:
            details["retry_at"] = to_utc(retry_at).isoformat()
        return self._change(entry_id, values, action, details)

    def retry(self, entry_id: int, *, actor: str, now: datetime) -> OutboxEntry:
        current = self.get(entry_id)
        if current.state is DeliveryState.DELIVERED:
            raise ActionError(f"outbox entry {entry_id} was delivered already; not resent")
        values = {
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": to_utc(now),
            "dead_at": None,
            "locked_until": None,
        }
        details = {"actor": actor, "was": current.state.value, "attempts": current.attempts}
        return self._change(entry_id, values, "action.retry", details)

    def list(
        self,
        tenant: str | None = None,
        *,
        state: DeliveryState | None = None,
        limit: int = 100,
    ) -> builtins.list[OutboxEntry]:
        if not 1 <= limit <= MAX_LIST:
            raise ActionError(f"limit must be 1-{MAX_LIST}, not {limit}")
        c = action_outbox.c
        q = select(action_outbox)
        if tenant is not None:
            q = q.where(c.tenant == tenant)
        if state is not None:
            q = q.where(c.state == DeliveryState(state).value)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(q.order_by(c.id.desc()).limit(limit))]


def _contribution(r: Row[Any]) -> Contribution:
    return Contribution(
        tenant=r.tenant,
        bank=r.bank,
        case_id=int(r.case_id),
        decision_id=int(r.decision_id),
        hash_type=r.hash_type,
        value=r.value,
        label=r.label,
        added_at=utc(r.added_at),
        released_at=_opt(r.released_at),
    )


class SqlHashLedger(_Sql, HashLedger):
    """The confirmed-hash ledger (see ``actions.base.HashLedger``)."""

    def __init__(self, engine: Engine, audit: TxAudit | None = None) -> None:
        super().__init__(engine, audit)
        self._insert = (
            self._dialect.insert(action_hashes)
            .on_conflict_do_nothing(
                index_elements=["tenant", "bank", "case_id", "hash_type", "value"]
            )
            .returning(action_hashes.c.id)
        )

    def record(self, contributions: Sequence[Contribution]) -> int:
        if not contributions:
            return 0
        h = action_hashes.c
        changed = 0
        with self.engine.begin() as conn:
            for k in contributions:
                check_tenant(k.tenant)
                row = {
                    "tenant": k.tenant,
                    "bank": k.bank,
                    "case_id": k.case_id,
                    "decision_id": k.decision_id,
                    "hash_type": k.hash_type,
                    "value": k.value,
                    "label": k.label,
                    "added_at": to_utc(k.added_at),
                    "released_at": None,
                }
                if conn.execute(self._insert, row).first() is not None:
                    changed += 1
                    continue
                revived = conn.execute(
                    update(action_hashes)
                    .where(
                        h.tenant == k.tenant,
                        h.bank == k.bank,
                        h.case_id == k.case_id,
                        h.hash_type == k.hash_type,
                        h.value == k.value,
                        h.released_at.is_not(None),
                    )
                    .values(released_at=None)
                )
                changed += int(revived.rowcount)
            if changed:
                first = contributions[0]
                cases = sorted({k.case_id for k in contributions})
                self._audit(
                    conn,
                    AuditEvent(
                        tenant=first.tenant,
                        actor="system:actions",
                        action="hashes.confirm",
                        target_type="bank",
                        target_id=first.bank,
                        details={"cases": cases, "hashes": changed},
                    ),
                )
        return changed

    def release(
        self, tenant: str, bank: str, case_id: int, *, now: datetime
    ) -> builtins.list[tuple[str, str]]:
        h = action_hashes.c
        other = action_hashes.alias("other")
        o = other.c
        still_vouched = exists().where(
            o.tenant == h.tenant,
            o.bank == h.bank,
            o.hash_type == h.hash_type,
            o.value == h.value,
            o.released_at.is_(None),
        )
        mine = and_(h.tenant == tenant, h.bank == bank, h.case_id == case_id)
        with self.engine.begin() as conn:
            res = conn.execute(
                update(action_hashes)
                .where(mine, h.released_at.is_(None))
                .values(released_at=to_utc(now))
            )
            rows = conn.execute(
                select(h.hash_type, h.value)
                .where(mine, ~still_vouched)
                .order_by(h.hash_type, h.value)
            ).all()
            if res.rowcount:
                self._audit(
                    conn,
                    AuditEvent(
                        tenant=tenant,
                        actor="system:actions",
                        action="hashes.release",
                        target_type="bank",
                        target_id=bank,
                        details={"case_id": case_id, "released": int(res.rowcount)},
                    ),
                )
        return [(str(t), str(v)) for t, v in rows]

    def contributed(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        h = action_hashes.c
        first = (
            select(h.hash_type, h.value, func.min(h.added_at).label("first"))
            .where(h.tenant == tenant)
            .group_by(h.hash_type, h.value)
            .subquery()
        )
        q = select(func.count()).select_from(first)
        if since is not None:
            q = q.where(first.c.first >= to_utc(since))
        if until is not None:
            q = q.where(first.c.first < to_utc(until))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def for_case(self, tenant: str, case_id: int) -> builtins.list[Contribution]:
        h = action_hashes.c
        q = (
            select(action_hashes)
            .where(h.tenant == tenant, h.case_id == case_id)
            .order_by(h.hash_type, h.value, h.bank)
        )
        with self.engine.connect() as conn:
            return [_contribution(r) for r in conn.execute(q)]
