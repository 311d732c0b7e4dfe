"""Appeals, SLA escalation and closing for :class:`~childsafe.storage.review.SqlCaseStore`.

* **Appeals** are for actioned cases only (ACTIONED, or CLOSED after an action). A pending
  appeal moves the case to APPEALED; a lead or admin restores it (RESTORED: the platform
  reverses its actions) or upholds it, which puts the case back in the state it was
  appealed from, so reporting and actions still pending on an ACTIONED case are not skipped.
* **SLA escalation** moves every case still waiting (open, in review, waiting for a second
  review) past its deadline to ESCALATED, clearing the assignee, across all tenants: a case
  nobody decided in time needs a lead. Each case is its own transaction, re-checked under
  its lock, so a decision that lands meanwhile wins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from childsafe.errors import ReviewError
from childsafe.review.base import Appeal, Case, CaseState
from childsafe.review.errors import CaseNotFound
from childsafe.storage.models_review import appeals, cases
from childsafe.storage.review_core import CaseStoreCore, who
from childsafe.storage.review_flow import LEADS, note_ok, state_values
from childsafe.storage.review_people import active_reviewer
from childsafe.storage.review_rows import to_appeal


class AppealsMixin(CaseStoreCore):
    """Appeals, escalation and closing (see the module docstring)."""

    # appeals --------------------------------------------------------------------------------

    def file_appeal(
        self, tenant: str, case_id: int, *, filed_by: str, statement: str | None = None
    ) -> Appeal:
        if not isinstance(filed_by, str) or not 1 <= len(filed_by) <= 200:
            raise ReviewError(f"case {case_id}: filed_by must be 1-200 characters")
        statement = note_ok(statement, f"appeal on case {case_id}")
        with self._tx() as conn:
            case = self._case(conn, tenant, case_id, lock=True)
            actioned = case.state is CaseState.ACTIONED or (
                case.state is CaseState.CLOSED and case.actioned_at is not None
            )
            if not actioned:
                raise ReviewError(
                    f"case {case_id} is {case.state.value}: only actioned cases can be appealed"
                )
            now = datetime.now(UTC)
            appeal_id = conn.execute(
                insert(appeals)
                .values(
                    tenant=tenant,
                    case_id=case.id,
                    prior_state=case.state.value,
                    filed_at=now,
                    filed_by=filed_by,
                    statement=statement,
                )
                .returning(appeals.c.id)
            ).scalar_one()
            conn.execute(
                update(cases)
                .where(cases.c.id == case.id)
                .values(state=CaseState.APPEALED.value, updated_at=now)
            )
            details = {"case_id": case.id, "prior_state": case.state.value}
            actor = f"user:{filed_by}"
            self._log(conn, tenant, actor, "appeal.file", ("appeal", appeal_id), details)
            return to_appeal(conn.execute(select(appeals).where(appeals.c.id == appeal_id)).one())

    def decide_appeal(
        self, tenant: str, appeal_id: int, lead: str, *, restore: bool, note: str | None = None
    ) -> Appeal:
        """A lead restores (case RESTORED) or upholds (the case goes back where it was)."""
        note = note_ok(note, f"appeal {appeal_id}")
        with self._tx() as conn:
            rv = active_reviewer(conn, tenant, lead)
            if rv.role not in LEADS:
                raise ReviewError(f"appeal {appeal_id}: only a lead or admin decides appeals")
            a = appeals.c
            row = conn.execute(
                select(appeals).where(a.tenant == tenant, a.id == int(appeal_id))
            ).first()
            if row is None:
                raise CaseNotFound(f"tenant {tenant!r} has no appeal {appeal_id}")
            if row.outcome is not None:
                raise ReviewError(f"appeal {appeal_id} was already decided ({row.outcome})")
            case = self._case(conn, tenant, int(row.case_id), lock=True)
            if case.state is not CaseState.APPEALED:
                raise ReviewError(f"case {case.id} is {case.state.value}, not appealed")
            now = datetime.now(UTC)
            outcome = "restored" if restore else "upheld"
            conn.execute(
                update(appeals)
                .where(a.id == row.id)
                .values(outcome=outcome, decided_by=lead, decided_at=now, note=note)
            )
            state = CaseState.RESTORED if restore else CaseState(row.prior_state)
            values: dict[str, Any] = {"state": state.value, "updated_at": now}
            if restore:
                values["closed_at"] = now
            conn.execute(update(cases).where(cases.c.id == case.id).values(values))
            details = {"case_id": case.id, "outcome": outcome, "state_to": state.value}
            self._log(conn, tenant, who(lead), "appeal.decide", ("appeal", row.id), details)
            self._transitioned(conn, case, self._case(conn, tenant, case.id))
            return to_appeal(conn.execute(select(appeals).where(a.id == row.id)).one())

    # SLA and closing ------------------------------------------------------------------------

    def escalate_overdue(self, now: datetime, *, actor: str = "system:sla") -> int:
        """Escalate every case still waiting past its deadline (all tenants); the count."""
        c = cases.c
        waiting = [CaseState.OPEN.value, CaseState.IN_REVIEW.value, CaseState.SECOND_REVIEW.value]
        when = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        with self.engine.connect() as conn:
            q = select(c.id, c.tenant).where(c.state.in_(waiting), c.due_at < when).order_by(c.id)
            todo = [(int(i), str(t)) for i, t in conn.execute(q)]
        done = 0
        for case_id, tenant in todo:
            with self._tx() as conn:
                case = self._case(conn, tenant, case_id, lock=True)
                if case.state.value not in waiting or case.due_at >= when:
                    continue  # decided or escalated meanwhile
                values = state_values(CaseState.ESCALATED, datetime.now(UTC))
                conn.execute(update(cases).where(c.id == case_id).values(values))
                details = {
                    "reason": "sla",
                    "state_from": case.state.value,
                    "assignee": case.assignee,
                    "due_at": case.due_at,
                }
                self._log(conn, tenant, actor, "case.escalate", ("case", case_id), details)
                done += 1
        return done

    def close(self, tenant: str, case_id: int, actor: str, *, note: str | None = None) -> Case:
        """Close an actioned case once reporting and actions are done."""
        note = note_ok(note, f"case {case_id}")
        with self._tx() as conn:
            case = self._case(conn, tenant, case_id, lock=True)
            if case.state is not CaseState.ACTIONED:
                raise ReviewError(
                    f"case {case_id} is {case.state.value}: only actioned cases close"
                )
            values = state_values(CaseState.CLOSED, datetime.now(UTC))
            conn.execute(update(cases).where(cases.c.id == case.id).values(values))
            self._log(
                conn, tenant, actor, "case.close", ("case", case.id), {"note": note is not None}
            )
            return self._case(conn, tenant, case.id)
