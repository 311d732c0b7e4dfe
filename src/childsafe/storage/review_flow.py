"""Claims, decisions, reveals, appeals and SLA escalation for :class:`SqlCaseStore`.

The transition rules (``docs/review.md`` draws them):

* **Claim** is atomic. PostgreSQL picks the queue head with ``FOR UPDATE SKIP LOCKED`` (a
  row another claimant holds is skipped, not waited for); SQLite holds the write lock and
  the ``UPDATE ... WHERE assignee IS NULL`` is checked by its row count. Reviewers take
  open cases and second reviews of others' violations; only leads and admins take escalated
  cases; auditors take nothing.
* **One rule for violations.** A VIOLATION actions the case when second review is off, or
  when an earlier VIOLATION on the case came from a different reviewer (a second reviewer
  agreeing, or a lead siding with the first reviewer after a disagreement). Otherwise the
  case waits in SECOND_REVIEW for someone else. A NO_VIOLATION in second review is a
  disagreement and escalates to a lead; elsewhere it closes the case.
* **Reveals** are refused for auditors and metadata-only reviewers, for a reviewer who has
  not claimed the case (leads and admins excepted: appeals need them), for EXIF before the
  file has been revealed by anyone (NCMEC: ``exifViewedByEsp`` implies
  ``fileViewedByEsp``), and past the reviewer's limit for the UTC day. The reviewer's row is
  locked first on PostgreSQL so two reveals at once cannot both take the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from childsafe.errors import ReviewError
from childsafe.review.base import (
    OPEN_STATES,
    REASON_CODES,
    Case,
    CaseState,
    Exposure,
    IndustryClass,
    Outcome,
    Reviewer,
    Role,
)
from childsafe.review.errors import CaseNotFound
from childsafe.storage.models_review import case_items, cases, reveals, review_decisions
from childsafe.storage.review_core import CaseStoreCore, who
from childsafe.storage.review_people import active_reviewer, count_exposure

VIOLATION_CODES = frozenset(
    {"csam_known", "csam_new", "aig_csam", "csem_grooming", "csem_sextortion", "csem_other"}
)
DECIDABLE = frozenset({CaseState.IN_REVIEW, CaseState.SECOND_REVIEW, CaseState.ESCALATED})
MEDIA_KINDS = frozenset({"image", "video"})
LEADS = frozenset({Role.LEAD, Role.ADMIN})
MAX_NOTE = 4000


def state_values(state: CaseState, now: datetime) -> dict[str, Any]:
    """Columns that follow from moving a case to ``state`` at ``now``."""
    values: dict[str, Any] = {"state": state.value, "assignee": None, "updated_at": now}
    if state not in OPEN_STATES:
        values["open_key"] = None  # the subject may open a new case from now on
    if state is CaseState.ACTIONED:
        values["actioned_at"] = now
    if state in (CaseState.NO_VIOLATION, CaseState.CLOSED, CaseState.RESTORED):
        values["closed_at"] = now
    return values


def note_ok(note: str | None, what: str) -> str | None:
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ReviewError(f"{what}: a note must be text of at most {MAX_NOTE} characters")
    return note


class WorkflowMixin(CaseStoreCore):
    """The state-changing half of the case store (see the module docstring)."""

    # claims ---------------------------------------------------------------------------------

    def _claimable(self, rv: Reviewer) -> Any:
        c = cases.c
        second = and_(
            c.state == CaseState.SECOND_REVIEW.value,
            or_(c.first_reviewer.is_(None), c.first_reviewer != rv.username),
        )
        cond = or_(c.state == CaseState.OPEN.value, second)
        if rv.role in LEADS:
            cond = or_(cond, c.state == CaseState.ESCALATED.value)
        return cond

    def _claimer(self, conn: Connection, tenant: str, reviewer: str) -> Reviewer:
        rv = active_reviewer(conn, tenant, reviewer)
        if rv.role is Role.AUDITOR:
            raise ReviewError(f"reviewer {reviewer!r} is an auditor: auditors do not claim cases")
        return rv

    def claim_next(self, tenant: str, reviewer: str) -> Case | None:
        """Atomically assign the most urgent case this reviewer may take (None: queue empty)."""
        with self._tx() as conn:
            rv = self._claimer(conn, tenant, reviewer)
            c = cases.c
            q = (
                select(c.id, c.state)
                .where(c.tenant == tenant, c.assignee.is_(None), self._claimable(rv))
                .order_by(c.priority, c.due_at, c.id)
                .limit(1)
            )
            if self._pg:
                q = q.with_for_update(skip_locked=True)
            for _ in range(100):
                row = conn.execute(q).first()
                if row is None:
                    return None
                if self._take(conn, tenant, int(row.id), CaseState(row.state), reviewer):
                    return self._case(conn, tenant, int(row.id))
            return None

    def _take(
        self, conn: Connection, tenant: str, case_id: int, state: CaseState, reviewer: str
    ) -> bool:
        c = cases.c
        new = CaseState.IN_REVIEW if state is CaseState.OPEN else state
        done = conn.execute(
            update(cases)
            .where(c.id == case_id, c.assignee.is_(None), c.state == state.value)
            .values(assignee=reviewer, state=new.value, updated_at=datetime.now(UTC))
        )
        if done.rowcount != 1:
            return False
        details = {"state_from": state.value, "state_to": new.value}
        self._log(conn, tenant, who(reviewer), "case.claim", ("case", case_id), details)
        return True

    def claim(self, tenant: str, case_id: int, reviewer: str) -> Case:
        with self._tx() as conn:
            rv = self._claimer(conn, tenant, reviewer)
            case = self._case(conn, tenant, case_id, lock=True)
            if case.assignee == reviewer:
                return case
            if case.assignee is not None:
                raise ReviewError(f"case {case_id} is already claimed by {case.assignee!r}")
            if case.state is CaseState.ESCALATED and rv.role not in LEADS:
                raise ReviewError(f"case {case_id} is escalated: only a lead or admin may claim it")
            if case.state is CaseState.SECOND_REVIEW:
                if self._first_reviewer(conn, case.id) == reviewer:
                    raise ReviewError(
                        f"case {case_id} waits for a second review by someone other than "
                        f"its first reviewer {reviewer!r}"
                    )
            elif case.state not in (CaseState.OPEN, CaseState.ESCALATED):
                raise ReviewError(f"case {case_id} is {case.state.value}: nothing to claim")
            if not self._take(conn, tenant, case.id, case.state, reviewer):
                raise ReviewError(f"case {case_id} was claimed by someone else just now")
            return self._case(conn, tenant, case.id)

    def release(self, tenant: str, case_id: int, reviewer: str) -> Case:
        """Give a claimed case back to the queue (its assignee, or a lead or admin)."""
        with self._tx() as conn:
            rv = active_reviewer(conn, tenant, reviewer)
            case = self._case(conn, tenant, case_id, lock=True)
            if case.assignee is None:
                raise ReviewError(f"case {case_id} is not claimed by anyone")
            if case.assignee != reviewer and rv.role not in LEADS:
                raise ReviewError(
                    f"case {case_id} is claimed by {case.assignee!r}, not {reviewer!r}"
                )
            back = CaseState.OPEN if case.state is CaseState.IN_REVIEW else case.state
            conn.execute(
                update(cases)
                .where(cases.c.id == case.id)
                .values(assignee=None, state=back.value, updated_at=datetime.now(UTC))
            )
            details = {"from": case.assignee, "state_to": back.value}
            self._log(conn, tenant, who(reviewer), "case.release", ("case", case.id), details)
            return self._case(conn, tenant, case.id)

    # decisions ------------------------------------------------------------------------------

    def _check_decision(
        self,
        conn: Connection,
        case: Case,
        outcome: Outcome,
        reason_code: str,
        item_id: int | None,
        industry_class: IndustryClass | None,
    ) -> None:
        name = f"case {case.id}"
        if reason_code not in REASON_CODES:
            raise ReviewError(f"{name}: unknown reason code {reason_code!r}")
        if outcome is Outcome.VIOLATION and reason_code not in VIOLATION_CODES:
            raise ReviewError(f"{name}: reason {reason_code!r} does not describe a violation")
        if outcome is Outcome.NO_VIOLATION and reason_code in VIOLATION_CODES:
            raise ReviewError(f"{name}: reason {reason_code!r} describes a violation")
        if industry_class is not None and outcome is not Outcome.VIOLATION:
            raise ReviewError(f"{name}: an industry class applies to violations only")
        ci = case_items.c
        q = select(ci.id, ci.kind).where(ci.case_id == case.id)
        if item_id is not None:
            q = q.where(ci.id == int(item_id))
        kinds = {kind for _, kind in conn.execute(q)}
        if item_id is not None and not kinds:
            raise ReviewError(f"{name} has no item {item_id}")
        if outcome is Outcome.VIOLATION and industry_class is None and kinds & MEDIA_KINDS:
            raise ReviewError(
                f"{name}: a violation on an image or video needs an industry class (A1, A2, B1, B2)"
            )

    def _next_state(
        self, conn: Connection, case: Case, reviewer: str, outcome: Outcome
    ) -> CaseState:
        if outcome is Outcome.ESCALATE:
            if case.state is CaseState.ESCALATED:
                raise ReviewError(f"case {case.id} is already escalated: decide it")
            return CaseState.ESCALATED
        if outcome is Outcome.NO_VIOLATION:
            second = case.state is CaseState.SECOND_REVIEW
            return CaseState.ESCALATED if second else CaseState.NO_VIOLATION
        d = review_decisions.c
        other = conn.execute(
            select(d.id).where(
                d.case_id == case.id,
                d.outcome == Outcome.VIOLATION.value,
                d.reviewer != reviewer,
            )
        ).first()
        if not self.second_review or other is not None:
            return CaseState.ACTIONED
        return CaseState.SECOND_REVIEW

    def decide(
        self,
        tenant: str,
        case_id: int,
        reviewer: str,
        *,
        outcome: Outcome,
        reason_code: str,
        item_id: int | None = None,
        industry_class: IndustryClass | None = None,
        generative_ai: bool = False,
        note: str | None = None,
    ) -> Case:
        """Record a decision and move the case (see the module docstring's rules)."""
        try:
            outcome = Outcome(outcome)
            klass = IndustryClass(industry_class) if industry_class is not None else None
        except ValueError as exc:
            raise ReviewError(f"case {case_id}: {exc}") from None
        note = note_ok(note, f"case {case_id}")
        with self._tx() as conn:
            rv = active_reviewer(conn, tenant, reviewer)
            case = self._case(conn, tenant, case_id, lock=True)
            if case.assignee != reviewer:
                raise ReviewError(f"case {case_id} is not claimed by {reviewer!r}: claim it first")
            if case.state not in (
                CaseState.IN_REVIEW,
                CaseState.SECOND_REVIEW,
                CaseState.ESCALATED,
            ):
                raise ReviewError(f"case {case_id} is {case.state.value}: nothing to decide")
            if case.state is CaseState.ESCALATED and rv.role not in LEADS:
                raise ReviewError(f"case {case_id} is escalated: only a lead or admin decides it")
            first = self._first_reviewer(conn, case.id)
            if case.state is CaseState.SECOND_REVIEW and first == reviewer:
                raise ReviewError(f"case {case_id}: the second review must be by someone else")
            self._check_decision(conn, case, outcome, reason_code, item_id, klass)
            state = self._next_state(conn, case, reviewer, outcome)
            now = datetime.now(UTC)
            second = case.state is CaseState.SECOND_REVIEW
            conn.execute(
                insert(review_decisions).values(
                    tenant=tenant,
                    case_id=case.id,
                    item_id=item_id,
                    reviewer=reviewer,
                    outcome=outcome.value,
                    reason_code=reason_code,
                    industry_class=klass.value if klass else None,
                    generative_ai=bool(generative_ai),
                    second_review=second,
                    note=note,
                    at=now,
                )
            )
            values = state_values(state, now)
            if case.first_decision_at is None:
                values["first_decision_at"] = now
            if state is CaseState.SECOND_REVIEW:
                values["first_reviewer"] = reviewer
            conn.execute(update(cases).where(cases.c.id == case.id).values(values))
            details = {
                "outcome": outcome.value,
                "reason_code": reason_code,
                "industry_class": klass.value if klass else None,
                "item_id": item_id,
                "second_review": second,
                "state_from": case.state.value,
                "state_to": state.value,
            }
            self._log(conn, tenant, who(reviewer), "case.decide", ("case", case.id), details)
            after = self._case(conn, tenant, case.id)
            self._transitioned(conn, case, after)
            return after

    # reveals --------------------------------------------------------------------------------

    def reveal(self, tenant: str, item_id: int, reviewer: str, what: str) -> Exposure:
        """Record a deliberate reveal of the file or its EXIF; refuse past the limit."""
        if what not in ("file", "exif"):
            raise ReviewError(f"item {item_id}: reveal 'file' or 'exif', not {what!r}")
        with self._tx() as conn:
            rv = active_reviewer(conn, tenant, reviewer, lock=True)
            if rv.role is Role.AUDITOR:
                raise ReviewError(f"reviewer {reviewer!r} is an auditor: auditors never see media")
            if rv.metadata_only:
                raise ReviewError(f"reviewer {reviewer!r} reviews by hash and metadata only")
            ci = case_items.c
            row = conn.execute(
                select(ci.case_id).where(ci.tenant == tenant, ci.id == int(item_id))
            ).first()
            if row is None:
                raise CaseNotFound(f"tenant {tenant!r} has no case item {item_id}")
            case = self._case(conn, tenant, int(row.case_id))
            if rv.role not in LEADS and case.assignee != reviewer:
                raise ReviewError(f"item {item_id}: claim case {case.id} before revealing media")
            r = reveals.c
            if what == "exif":
                shown = conn.execute(
                    select(r.id).where(r.item_id == int(item_id), r.what == "file").limit(1)
                ).first()
                if shown is None:
                    raise ReviewError(f"item {item_id}: reveal the file before its EXIF")
            exposure = count_exposure(conn, rv, None)
            if exposure.remaining <= 0:
                raise ReviewError(
                    f"reviewer {reviewer!r} reached the daily limit of {exposure.limit} "
                    f"reveals ({exposure.day}, UTC)"
                )
            conn.execute(
                insert(reveals).values(
                    tenant=tenant,
                    case_id=case.id,
                    item_id=int(item_id),
                    reviewer=reviewer,
                    what=what,
                    at=datetime.now(UTC),
                )
            )
            details = {"case_id": case.id, "day": exposure.day}
            action = f"item.reveal_{what}"
            self._log(conn, tenant, who(reviewer), action, ("item", item_id), details)
            return Exposure(reviewer, exposure.day, exposure.reveals + 1, exposure.limit)

    def exposure(self, tenant: str, reviewer: str, day: str | None = None) -> Exposure:
        with self.engine.connect() as conn:
            rv = self._reviewer(conn, tenant, reviewer)
            return count_exposure(conn, rv, day)
