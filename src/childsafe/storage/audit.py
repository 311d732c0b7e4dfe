"""``SqlAuditLog``: the hash-chained, append-only audit log in SQL.

* **One chain, gap-free.** ``seq`` is the chain head's number plus one, assigned under a
  lock on the one-row ``audit_head`` table (the first statement of an append is an UPDATE of
  that row: PostgreSQL's row lock, SQLite's write lock), so concurrent appends from threads,
  processes or hosts queue up and never share or skip a number.
* **In the caller's transaction.** ``append(event, conn=conn)`` writes with the caller's
  connection and does not commit: a case claim, an evidence read or a report filing and its
  entry commit together or not at all. Append **last**, after the transaction's own writes:
  the head lock is then held only until the commit, so two transactions never wait on each
  other through it (PostgreSQL would call that a deadlock), and on SQLite the transaction
  already holds the write lock (one that has only read cannot take it after another writer
  committed; it fails instead of waiting). Or open it with ``BEGIN IMMEDIATE``.
* **Append-only in the database too.** Migration 0004's triggers refuse UPDATE and DELETE
  on ``audit_log``; this module has neither.
* **Details are normalised before hashing** (string keys, lists for tuples and sets, null
  for a non-finite float, ``str()`` of anything else) so what is hashed is exactly what the
  JSON column gives back, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from childsafe.audit.base import GENESIS, AuditEntry, AuditEvent, AuditLog, ChainCheck, entry_hash
from childsafe.errors import AuditError
from childsafe.storage._common import check_tenant, to_utc, utc
from childsafe.storage.errors import InvalidValue, StoreError
from childsafe.storage.models_audit import audit_head, audit_log

MAX_LIST = 10_000
VERIFY_PAGE = 1_000
_LIMITS = {"actor": 200, "action": 64, "target_type": 32, "target_id": 400}


def _plain(value: Any) -> Any:
    """``value`` as JSON that reads back equal to itself (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    return str(value)


def normalise(event: AuditEvent) -> AuditEvent:
    """``event`` checked and with plain-JSON details; ``AuditError`` naming what is wrong."""
    try:
        check_tenant(event.tenant)
    except StoreError as exc:
        raise AuditError(f"audit event {event.action!r}: {exc}") from None
    for name, limit in _LIMITS.items():
        value = getattr(event, name)
        if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
            raise AuditError(
                f"audit event {event.action!r}: {name} must be 1-{limit} characters without NUL"
            )
    if not isinstance(event.details, Mapping):
        raise AuditError(f"audit event {event.action!r}: details must be a mapping")
    return replace(event, details=_plain(event.details))


def _entry(r: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(r.seq),
        at=utc(r.at),
        tenant=r.tenant,
        actor=r.actor,
        action=r.action,
        target_type=r.target_type,
        target_id=r.target_id,
        details=r.details if r.details is not None else {},
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def _event(e: AuditEntry) -> AuditEvent:
    return AuditEvent(e.tenant, e.actor, e.action, e.target_type, e.target_id, e.details)


class SqlAuditLog(AuditLog):
    """The audit log on SQLite or PostgreSQL; see the module docstring for its guarantees."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite's waiting writers poll with growing sleeps; queueing this process's own
        # appends on a lock hands over at once. Never held around a caller's transaction.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self._sqlite else nullcontext()
        )

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def append(self, event: AuditEvent, *, conn: Connection | None = None) -> AuditEntry:
        """Chain and write ``event``; commit unless ``conn`` (the caller's transaction) is given."""
        event = normalise(event)
        if conn is not None:
            return self._append(conn, event)
        with self._transaction() as own:
            return self._append(own, event)

    def _append(self, conn: Connection, event: AuditEvent) -> AuditEntry:
        head = audit_head.c
        locked = conn.execute(update(audit_head).where(head.id == 1).values(seq=head.seq))
        if locked.rowcount != 1:
            raise AuditError("the audit chain head (audit_head row 1) is missing: cannot append")
        prev_seq, prev_hash = conn.execute(select(head.seq, head.hash).where(head.id == 1)).one()
        seq = int(prev_seq) + 1
        at = datetime.now(UTC)
        digest = entry_hash(prev_hash, seq, at, event)
        conn.execute(
            insert(audit_log).values(
                seq=seq,
                at=at,
                tenant=event.tenant,
                actor=event.actor,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                details=dict(event.details),
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        conn.execute(update(audit_head).where(head.id == 1).values(seq=seq, hash=digest))
        return AuditEntry(
            seq=seq,
            at=at,
            tenant=event.tenant,
            actor=event.actor,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            details=event.details,
            prev_hash=prev_hash,
            hash=digest,
        )

    def entries(
        self,
        tenant: str | None = None,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> list[AuditEntry]:
        """Entries with ``seq > after_seq`` in sequence order (page on with the last seq)."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidValue(f"limit must be 1-{MAX_LIST}, not {limit}")
        c = audit_log.c
        q = select(audit_log).where(c.seq > after_seq)
        if tenant is not None:
            q = q.where(c.tenant == tenant)
        if target_type is not None:
            q = q.where(c.target_type == target_type)
        if target_id is not None:
            q = q.where(c.target_id == target_id)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(q.order_by(c.seq).limit(limit))]

    def tail(
        self,
        tenant: str | None = None,
        *,
        limit: int = 50,
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries (optionally filtered), in sequence order."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidValue(f"limit must be 1-{MAX_LIST}, not {limit}")
        c = audit_log.c
        q = select(audit_log)
        if tenant is not None:
            q = q.where(c.tenant == tenant)
        if target_type is not None:
            q = q.where(c.target_type == target_type)
        if target_id is not None:
            q = q.where(c.target_id == target_id)
        with self.engine.connect() as conn:
            newest = [_entry(r) for r in conn.execute(q.order_by(c.seq.desc()).limit(limit))]
        return newest[::-1]

    def head(self) -> tuple[int, str]:
        """The chain head: the newest ``seq`` (0 when empty) and its hash."""
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        if row is None:
            raise AuditError("the audit chain head (audit_head row 1) is missing")
        return int(row[0]), str(row[1])

    def verify(self) -> ChainCheck:
        """Walk the chain up to the head read at the start, a page at a time.

        Entries appended while it runs are left for the next run. The first problem found
        is reported with its ``seq``: a changed entry fails its own hash, a removed one
        leaves its number missing, a re-chained one breaks its successor's ``prev_hash``,
        and a cut-off tail or a row added behind the log's back disagrees with the head.
        """
        head_seq, head_hash = self.head()
        expected, prev, count = 1, GENESIS, 0
        while expected <= head_seq:
            c = audit_log.c
            q = (
                select(audit_log)
                .where(c.seq >= expected, c.seq <= head_seq)
                .order_by(c.seq)
                .limit(VERIFY_PAGE)
            )
            with self.engine.connect() as conn:
                page = [_entry(r) for r in conn.execute(q)]
            if not page:
                break
            for e in page:
                if e.seq != expected:
                    return ChainCheck(False, count, expected, f"entry {expected} is missing")
                if e.prev_hash != prev:
                    problem = f"entry {e.seq} does not chain to entry {e.seq - 1}"
                    return ChainCheck(False, count, e.seq, problem)
                if entry_hash(prev, e.seq, e.at, _event(e)) != e.hash:
                    problem = f"entry {e.seq} does not match its hash (changed)"
                    return ChainCheck(False, count, e.seq, problem)
                prev, expected, count = e.hash, expected + 1, count + 1
        if count != head_seq:
            problem = f"entries {count + 1}-{head_seq} are missing (the head is at {head_seq})"
            return ChainCheck(False, count, count + 1, problem)
        if prev != head_hash:
            problem = f"entry {head_seq} is not the entry the head recorded"
            return ChainCheck(False, count, max(head_seq, 1), problem)
        return self._check_beyond(count)

    def _check_beyond(self, count: int) -> ChainCheck:
        """Rows past the head: the largest seq is read before the head, so a concurrent
        append (which moves both in one transaction) can never look like one."""
        with self.engine.connect() as conn:
            top = conn.execute(select(func.max(audit_log.c.seq))).scalar()
        now_seq, _ = self.head()
        if top is not None and int(top) > now_seq:
            problem = f"entry {now_seq + 1} is past the chain head (added behind the log's back)"
            return ChainCheck(False, count, now_seq + 1, problem)
        return ChainCheck(True, count)
