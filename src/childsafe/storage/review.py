"""``SqlCaseStore``: cases and the review workflow on SQLite or PostgreSQL.

The parts: ``review_core`` (transactions, audit, loaders), ``review_flow`` (claims,
decisions, reveals, appeals, SLA escalation), ``review_people`` (accounts, passwords,
exposure), ``review_rows`` (rows to nouns). This module holds intake, reading and accounts.

Intake is idempotent and race-free:

* a finding whose ``dedupe_key`` is already stored returns the stored item and changes
  nothing (no audit entry either: nothing happened);
* a subject's open case is found, or inserted with ``ON CONFLICT DO NOTHING`` on the unique
  ``(tenant, open_key)``; a concurrent intake that lost the insert reads the winner's case;
* an item insert that loses a ``dedupe_key`` race rolls the whole call back (so no empty
  case is left behind) and the retry finds the stored item.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from childsafe.errors import ReviewError
from childsafe.review.base import (
    Appeal,
    Case,
    CaseFilter,
    CaseItem,
    CasePriority,
    CaseStore,
    Decision,
    Finding,
    Reveal,
    Reviewer,
    Role,
)
from childsafe.review.errors import CaseNotFound
from childsafe.review.sla import due_at, tightened
from childsafe.storage._common import to_utc
from childsafe.storage.models_review import (
    appeals,
    case_items,
    cases,
    reveals,
    review_decisions,
    reviewers,
)
from childsafe.storage.review_appeals import AppealsMixin
from childsafe.storage.review_core import tenant_ok
from childsafe.storage.review_flow import WorkflowMixin
from childsafe.storage.review_people import (
    check_username,
    dummy_verify,
    hash_password,
    load_reviewer,
    to_reviewer,
    verify_password,
)
from childsafe.storage.review_rows import (
    item_row,
    open_key,
    to_appeal,
    to_case,
    to_decision,
    to_items,
    to_reveal,
)

MAX_LIST = 1000
_RETRIES = 8

__all__ = ["SqlCaseStore"]


class _Raced(Exception):
    """A concurrent intake stored the same item first: roll back and look again."""


class SqlCaseStore(WorkflowMixin, AppealsMixin, CaseStore):
    """:class:`~childsafe.review.base.CaseStore` in SQL; see the module docstrings."""

    # intake ---------------------------------------------------------------------------------

    def add_finding(
        self, finding: Finding, *, actor: str, evidence_id: str | None = None
    ) -> tuple[Case, CaseItem]:
        """Add to the subject's open case, or open one; idempotent on ``dedupe_key``."""
        tenant_ok(finding.tenant)
        row = item_row(finding)
        if evidence_id is not None and (not isinstance(evidence_id, str) or len(evidence_id) > 32):
            raise ReviewError(f"finding {finding.item_ref!r}: evidence_id must be 1-32 characters")
        for _ in range(_RETRIES):
            try:
                with self._tx() as conn:
                    return self._add(conn, finding, row, actor, evidence_id)
            except _Raced:
                continue
            except IntegrityError:  # a unique race the ON CONFLICT clauses did not cover
                continue
        raise ReviewError(f"finding {finding.item_ref!r}: intake kept racing; try again")

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._pg else sqlite
        return dialect.insert(table)

    def _add(
        self,
        conn: Connection,
        f: Finding,
        row: dict[str, Any],
        actor: str,
        evidence_id: str | None,
    ) -> tuple[Case, CaseItem]:
        ci = case_items.c
        if f.dedupe_key is not None:
            found = conn.execute(
                select(case_items).where(ci.tenant == f.tenant, ci.dedupe_key == f.dedupe_key)
            ).first()
            if found is not None:
                return self._case(conn, f.tenant, found.case_id), to_items(conn, [found])[0]
        now = datetime.now(UTC)
        priority = CasePriority(f.priority)
        case, created = self._open_case(conn, f, priority, now, actor)
        ins = self._insert(case_items).values(
            case_id=case.id, tenant=f.tenant, added_at=now, evidence_id=evidence_id, **row
        )
        if f.dedupe_key is not None:
            ins = ins.on_conflict_do_nothing(index_elements=["tenant", "dedupe_key"])
        item_id = conn.execute(ins.returning(ci.id)).scalar()
        if item_id is None:
            raise _Raced
        sources = [s.value for s in case.sources]
        if f.source.value not in sources:
            sources.append(f.source.value)
        new_priority = min(case.priority, priority)
        due = case.due_at if created else tightened(case.due_at, priority, now, self.sla)
        conn.execute(
            update(cases)
            .where(cases.c.id == case.id)
            .values(
                priority=int(new_priority),
                due_at=due,
                sources=sources,
                item_count=cases.c.item_count + 1,
                updated_at=now,
            )
        )
        details = {
            "item_id": int(item_id),
            "source": f.source.value,
            "kind": f.kind,
            "priority": int(priority),
            "case_priority": int(new_priority),
            "evidence_id": evidence_id,
        }
        self._log(conn, f.tenant, actor, "case.add_item", ("case", case.id), details)
        item = conn.execute(select(case_items).where(ci.id == item_id)).one()
        return self._case(conn, f.tenant, case.id), to_items(conn, [item])[0]

    def _open_case(
        self, conn: Connection, f: Finding, priority: CasePriority, now: datetime, actor: str
    ) -> tuple[Case, bool]:
        """The subject's open case (locked), or a new one; and whether it is new."""
        c = cases.c
        key = open_key(f.subject)
        q = select(cases).where(c.tenant == f.tenant, c.open_key == key)
        if self._pg:
            q = q.with_for_update()
        found = conn.execute(q).first()
        if found is not None:
            return to_case(found), False
        ins = (
            self._insert(cases)
            .values(
                tenant=f.tenant,
                subject_kind=f.subject.kind.value,
                subject_id=f.subject.id,
                open_key=key,
                state="open",
                priority=int(priority),
                created_at=now,
                updated_at=now,
                due_at=due_at(priority, now, self.sla),
                sources=[],
                item_count=0,
            )
            .on_conflict_do_nothing(index_elements=["tenant", "open_key"])
            .returning(c.id)
        )
        case_id = conn.execute(ins).scalar()
        if case_id is None:  # another intake opened it first (PostgreSQL waited for it)
            found = conn.execute(q).first()
            if found is None:
                raise _Raced
            return to_case(found), False
        details = {"subject_kind": f.subject.kind.value, "priority": int(priority)}
        self._log(conn, f.tenant, actor, "case.create", ("case", case_id), details)
        return self._case(conn, f.tenant, case_id), True

    # reading --------------------------------------------------------------------------------

    def get(self, tenant: str, case_id: int) -> Case:
        with self.engine.connect() as conn:
            return self._case(conn, tenant, case_id)

    def list(self, tenant: str, flt: CaseFilter | None = None) -> builtins.list[Case]:
        """Queue order: priority, then due time, then id."""
        tenant_ok(tenant)
        flt = flt or CaseFilter()
        if not 1 <= flt.limit <= MAX_LIST or flt.offset < 0:
            raise ReviewError(f"limit must be 1-{MAX_LIST} and offset >= 0")
        c = cases.c
        q = select(cases).where(c.tenant == tenant)
        if flt.states is not None:
            q = q.where(c.state.in_(sorted(s.value for s in flt.states)))
        if flt.assignee is not None:
            q = q.where(c.assignee == flt.assignee)
        if flt.priority is not None:
            q = q.where(c.priority == int(flt.priority))
        if flt.source is not None:
            ci = case_items.c
            q = q.where(exists().where(and_(ci.case_id == c.id, ci.source == flt.source.value)))
        if flt.overdue_at is not None:
            q = q.where(c.open_key.is_not(None), c.due_at < to_utc(flt.overdue_at))
        q = q.order_by(c.priority, c.due_at, c.id).limit(flt.limit).offset(flt.offset)
        with self.engine.connect() as conn:
            return [to_case(r) for r in conn.execute(q)]

    def items(self, tenant: str, case_id: int) -> builtins.list[CaseItem]:
        ci = case_items.c
        with self.engine.connect() as conn:
            self._case(conn, tenant, case_id)
            rows = conn.execute(select(case_items).where(ci.case_id == case_id).order_by(ci.id))
            return to_items(conn, rows)

    def find_item(self, tenant: str, dedupe_key: str | None) -> CaseItem | None:
        """The item stored under ``dedupe_key``, if any (intake checks before keeping media)."""
        if dedupe_key is None:
            return None
        ci = case_items.c
        with self.engine.connect() as conn:
            q = select(case_items).where(ci.tenant == tenant, ci.dedupe_key == dedupe_key)
            rows = conn.execute(q).all()
            found = to_items(conn, rows)
        return found[0] if found else None

    def item(self, tenant: str, item_id: int) -> CaseItem:
        ci = case_items.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(case_items).where(ci.tenant == tenant, ci.id == int(item_id))
            ).first()
            if row is None:
                raise CaseNotFound(f"tenant {tenant!r} has no case item {item_id}")
            return to_items(conn, [row])[0]

    def decisions(self, tenant: str, case_id: int) -> builtins.list[Decision]:
        d = review_decisions.c
        with self.engine.connect() as conn:
            self._case(conn, tenant, case_id)
            q = select(review_decisions).where(d.case_id == case_id).order_by(d.id)
            return [to_decision(r) for r in conn.execute(q)]

    def reveals(self, tenant: str, item_id: int) -> builtins.list[Reveal]:
        self.item(tenant, item_id)
        r = reveals.c
        with self.engine.connect() as conn:
            q = select(reveals).where(r.tenant == tenant, r.item_id == item_id).order_by(r.id)
            return [to_reveal(x) for x in conn.execute(q)]

    def appeals(self, tenant: str, case_id: int) -> builtins.list[Appeal]:
        a = appeals.c
        with self.engine.connect() as conn:
            self._case(conn, tenant, case_id)
            q = select(appeals).where(a.case_id == case_id).order_by(a.id)
            return [to_appeal(r) for r in conn.execute(q)]

    # reviewers ------------------------------------------------------------------------------

    def add_reviewer(
        self,
        tenant: str,
        username: str,
        role: Role,
        password: str,
        *,
        display_name: str = "",
        daily_reveal_limit: int | None = None,
        metadata_only: bool = False,
        actor: str,
    ) -> Reviewer:
        tenant_ok(tenant)
        check_username(username)
        try:
            role = Role(role)
        except ValueError:
            raise ReviewError(f"reviewer {username!r}: unknown role {role!r}") from None
        limit = self.default_reveals if daily_reveal_limit is None else int(daily_reveal_limit)
        if limit < 0:
            raise ReviewError(f"reviewer {username!r}: the daily reveal limit must be >= 0")
        if role is Role.AUDITOR:
            limit = 0  # auditors never see media
        digest = hash_password(password)
        now = datetime.now(UTC)
        values = {
            "tenant": tenant,
            "username": username,
            "role": role.value,
            "display_name": display_name or username,
            "password_hash": digest,
            "daily_reveal_limit": limit,
            "metadata_only": bool(metadata_only),
            "created_at": now,
        }
        with self._tx() as conn:
            if load_reviewer(conn, tenant, username) is not None:
                raise ReviewError(f"tenant {tenant!r} already has a reviewer {username!r}")
            conn.execute(insert(reviewers).values(values))
            details = {"role": role.value, "metadata_only": bool(metadata_only), "limit": limit}
            self._log(conn, tenant, actor, "reviewer.add", ("reviewer", username), details)
            found = load_reviewer(conn, tenant, username)
        assert found is not None
        return found

    def disable_reviewer(self, tenant: str, username: str, *, actor: str) -> Reviewer:
        """Disable an account (kept, never deleted: decisions and reveals name it)."""
        with self._tx() as conn:
            found = self._reviewer(conn, tenant, username)
            r = reviewers.c
            conn.execute(
                update(reviewers)
                .where(r.tenant == tenant, r.username == username)
                .values(disabled_at=datetime.now(UTC))
            )
            self._log(conn, tenant, actor, "reviewer.disable", ("reviewer", found.username))
            out = load_reviewer(conn, tenant, username)
        assert out is not None
        return out

    def authenticate(self, tenant: str, username: str, password: str) -> Reviewer | None:
        """The reviewer when the password is right and the account enabled (constant-time)."""
        r = reviewers.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(reviewers).where(r.tenant == tenant, r.username == username)
            ).first()
        if row is None:
            dummy_verify(password)
            return None
        ok = verify_password(row.password_hash, password)
        found = to_reviewer(row)
        return found if ok and found.disabled_at is None else None

    def reviewer(self, tenant: str, username: str) -> Reviewer:
        with self.engine.connect() as conn:
            found = load_reviewer(conn, tenant, username)
        if found is None:
            raise CaseNotFound(f"tenant {tenant!r} has no reviewer {username!r}")
        return found

    def reviewers(self, tenant: str) -> Sequence[Reviewer]:
        r = reviewers.c
        with self.engine.connect() as conn:
            q = select(reviewers).where(r.tenant == tenant).order_by(r.username)
            return [to_reviewer(x) for x in conn.execute(q)]

    def case_ids(self, tenant: str) -> builtins.list[int]:
        """Every case id of ``tenant`` (for exports and tests), oldest first."""
        with self.engine.connect() as conn:
            q = select(cases.c.id).where(cases.c.tenant == tenant).order_by(cases.c.id)
            return [int(x) for x in conn.execute(q).scalars()]
