"""``SqlDecisionLog``: the append-only decision log in SQL.

* **Append-only.** This module has no UPDATE or DELETE, and migration 0003 adds triggers
  that refuse both, so a log entry is as it was written.
* **Idempotent.** An entry is unique on (tenant, request id, source); a retried write is an
  ``INSERT ... ON CONFLICT DO NOTHING`` that keeps the first. The tenant is part of the key
  because request ids can come from callers: one tenant must not be able to turn another's
  write into a no-op by reusing its ids.
* **Durable before it returns.** ``record`` is one transaction, committed before it returns:
  on PostgreSQL with ``synchronous_commit`` on (its default) that is an fsync; on SQLite in
  WAL mode with ``synchronous=NORMAL`` a committed entry survives the process being killed
  (what a service restart is), though not a power cut: point production at PostgreSQL.
* **Portable JSON.** Reasons, the subject and the match and score summaries are JSON
  columns (JSON1 text on SQLite, ``json`` on PostgreSQL). A non-finite score (a classifier
  bug) is stored as null rather than as ``NaN``, which is not JSON, and read back without
  it: the decision itself must still be logged.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select
from sqlalchemy.dialects import postgresql, sqlite

from childsafe.screening.base import (
    ContentKind,
    DecisionEntry,
    DecisionLog,
    PolicyRef,
    Source,
    Subject,
)
from childsafe.storage._common import check_tenant, to_utc, utc
from childsafe.storage.errors import InvalidValue
from childsafe.storage.models import decisions

MAX_LIST = 10_000
_UNIQUE = ["tenant", "request_id", "source"]
_LIMITS = {"request_id": 128, "decision": 16, "content_sha256": 64, "pdq": 64}


def _clean_scores(scores: Mapping[str, float]) -> dict[str, float | None]:
    return {str(k): (float(v) if math.isfinite(v) else None) for k, v in scores.items()}


def _row(e: DecisionEntry) -> dict[str, Any]:
    """The columns of an entry, refusing what the database would refuse less clearly."""
    check_tenant(e.tenant)
    for field, limit in _LIMITS.items():
        value = getattr(e, field)
        if value is None and field == "pdq":
            continue
        if not isinstance(value, str) or not value or len(value) > limit:
            raise InvalidValue(f"decision {e.request_id!r}: {field} must be 1-{limit} characters")
    try:
        source, kind = Source(e.source), ContentKind(e.kind)
    except ValueError as exc:
        raise InvalidValue(f"decision {e.request_id!r}: {exc}") from None
    return {
        "tenant": e.tenant,
        "request_id": e.request_id,
        "source": source.value,
        "created_at": to_utc(e.created_at),
        "kind": kind.value,
        "decision": e.decision,
        "reasons": [str(r) for r in e.reasons],
        "policy_name": e.policy.name,
        "policy_version": str(e.policy.version),
        "content_sha256": e.content_sha256,
        "pdq": e.pdq,
        "subject": {k: v for k, v in asdict(e.subject).items() if v is not None},
        "match_summary": [str(m) for m in e.match_summary],
        "score_summary": _clean_scores(e.score_summary),
        "create_case": bool(e.create_case),
        "note": e.note,
    }


def _entry(r: Row[Any]) -> DecisionEntry:
    scores = r.score_summary or {}
    return DecisionEntry(
        request_id=r.request_id,
        tenant=r.tenant,
        created_at=utc(r.created_at),
        source=Source(r.source),
        kind=ContentKind(r.kind),
        decision=r.decision,
        reasons=tuple(r.reasons),
        policy=PolicyRef(r.policy_name, r.policy_version),
        content_sha256=r.content_sha256,
        pdq=r.pdq,
        subject=Subject(**r.subject),
        match_summary=tuple(r.match_summary),
        score_summary={k: v for k, v in scores.items() if v is not None},
        create_case=bool(r.create_case),
        note=r.note,
    )


def _window(tenant: str, since: datetime | None, until: datetime | None) -> list[Any]:
    c = decisions.c
    where: list[Any] = [c.tenant == tenant]
    if since is not None:
        where.append(c.created_at >= to_utc(since))
    if until is not None:
        where.append(c.created_at < to_utc(until))
    return where


class SqlDecisionLog(DecisionLog):
    """The decision log; see the module docstring for its guarantees."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert = dialect.insert(decisions).on_conflict_do_nothing(index_elements=_UNIQUE)
        # SQLite has one writer at a time and a waiting writer polls with growing sleeps
        # (milliseconds each); queueing this process's writers on a lock hands over at once.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def record(self, entry: DecisionEntry) -> None:
        """Write ``entry`` and commit; a second write of the same entry changes nothing."""
        row = _row(entry)
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(self._insert, row)

    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        decision: str | None = None,
        limit: int = 100,
        until: datetime | None = None,
    ) -> builtins.list[DecisionEntry]:
        """Entries of one tenant, newest first: ``since <= created_at < until``."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidValue(f"limit must be 1-{MAX_LIST}, not {limit}")
        c = decisions.c
        q = select(decisions).where(*_window(tenant, since, until))
        if decision is not None:
            q = q.where(c.decision == decision)
        q = q.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(q)]

    def get(
        self, tenant: str, request_id: str, *, source: Source | None = None
    ) -> DecisionEntry | None:
        """The first entry logged for ``request_id`` in ``tenant`` (of ``source``, if given).

        A request id can have several entries, one per source: a screening answered by the
        API and a user report about it later.
        """
        c = decisions.c
        q = select(decisions).where(c.tenant == tenant, c.request_id == request_id)
        if source is not None:
            q = q.where(c.source == Source(source).value)
        with self.engine.connect() as conn:
            row = conn.execute(q.order_by(c.id).limit(1)).first()
        return None if row is None else _entry(row)

    def count_by(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[tuple[str, str, str], int]:
        """Counts per (source, kind, decision) in ``since <= created_at < until``: the
        numbers a transparency report publishes, with no entry read into Python."""
        c = decisions.c
        q = (
            select(c.source, c.kind, c.decision, func.count())
            .where(*_window(tenant, since, until))
            .group_by(c.source, c.kind, c.decision)
        )
        with self.engine.connect() as conn:
            return {(s, k, d): int(n) for s, k, d, n in conn.execute(q)}
