"""The trust-and-safety desk: every review-side store on one engine, wired together.

The stores are separate modules (cases, evidence, reports, outbox, hash ledger, audit), each
with its own guarantees; what ties them is the *consequences* of a decision, and those must
not depend on which front end made it (console, CLI, a script):

* a case that becomes ACTIONED enqueues its takedown (and, for a user, suspension) events in
  the **same transaction** as the decision (a transition hook): a crash can lose neither
  the decision without its events nor the reverse; a case RESTORED by an appeal enqueues
  the restore event the same way. Events wait in the outbox until ``childsafe actions
  deliver`` sends them to ``Settings.webhook_url``;
* after the decision commits, the confirmed items' hashes go into the tenant's
  ``confirmed`` bank (re-upload prevention). A bank import is its own transaction, so this
  is a second step: :meth:`Desk.sync_confirmed` redoes it idempotently for every actioned
  case, which ``childsafe actions deliver`` runs first, so a crash in between only delays it.

Front ends call :meth:`Desk.decide` and :meth:`Desk.decide_appeal` rather than the case
store's methods so the second step runs at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from childsafe.actions.events import actioned_events, restore_event
from childsafe.actions.reupload import ReuploadGuard
from childsafe.config import Settings
from childsafe.errors import ChildsafeError
from childsafe.evidence.base import Purpose
from childsafe.review.base import Appeal, Case, CaseFilter, CaseState
from childsafe.review.intake import from_decision
from childsafe.screening.base import DecisionEntry
from childsafe.storage.actions import SqlHashLedger, SqlOutbox
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.models_review import appeals, case_items
from childsafe.storage.reporting import SqlReportStore
from childsafe.storage.review import SqlCaseStore
from childsafe.storage.review_rows import to_items
from childsafe.storage.sql import SqlBankStore

log = logging.getLogger(__name__)


@dataclass
class Desk:
    """The stores of review, evidence, reporting and actions for one deployment."""

    settings: Settings
    store: SqlBankStore
    audit: SqlAuditLog
    evidence: SqlEvidenceStore
    cases: SqlCaseStore
    reports: SqlReportStore
    outbox: SqlOutbox
    ledger: SqlHashLedger

    @property
    def reupload(self) -> ReuploadGuard:
        return ReuploadGuard(self.store, self.ledger, self.cases)

    def decide(self, tenant: str, case_id: int, reviewer: str, **decision: Any) -> Case:
        """``cases.decide`` (takedown events ride in its transaction), then the confirmed
        hashes go to the re-upload bank when the case was actioned."""
        case = self.cases.decide(tenant, case_id, reviewer, **decision)
        if case.state is CaseState.ACTIONED:
            self._confirm(tenant, case.id)
        return case

    def decide_appeal(
        self, tenant: str, appeal_id: int, lead: str, *, restore: bool, note: str | None = None
    ) -> Appeal:
        """``cases.decide_appeal``; a restored case's hashes leave the re-upload bank."""
        appeal = self.cases.decide_appeal(tenant, appeal_id, lead, restore=restore, note=note)
        if restore:
            try:
                self.reupload.restore(tenant, appeal.case_id)
            except ChildsafeError as exc:  # retried by sync_confirmed; never undo the decision
                log.warning("case %s: re-upload bank not updated yet: %s", appeal.case_id, exc)
        return appeal

    def _confirm(self, tenant: str, case_id: int) -> None:
        try:
            self.reupload.confirm(tenant, case_id)
        except ChildsafeError as exc:
            log.warning("case %s: re-upload bank not updated yet: %s", case_id, exc)

    def sync_confirmed(self, tenant: str) -> int:
        """Bring the re-upload bank in line with every actioned case of ``tenant``
        (idempotent: hashes already there change nothing); the number of cases seen."""
        seen = 0
        states = frozenset({CaseState.ACTIONED})
        offset = 0
        while True:
            page = self.cases.list(tenant, CaseFilter(states=states, limit=500, offset=offset))
            for case in page:
                self.reupload.confirm(tenant, case.id)
                seen += 1
            if len(page) < 500:
                return seen
            offset += 500

    def intake_decision(self, entry: DecisionEntry, data: bytes | None = None) -> Case:
        """Open (or join) the case a decision asked for; the screened bytes, when given and
        ``Settings.keep_review_media`` is on, go into the evidence store first (encrypted,
        purpose ``review``: destroyed after ``review_media_retention_days`` unless reported),
        so a reviewer can see what was decided on. Idempotent per decision."""
        finding = from_decision(entry)
        evidence_id = None
        if data and self.settings.keep_review_media:
            existing = self.cases.find_item(entry.tenant, finding.dedupe_key)
            if existing is not None:
                return self.cases.get(entry.tenant, existing.case_id)
            record = self.evidence.put(
                entry.tenant,
                data,
                purpose=Purpose.REVIEW,
                item_ref=entry.request_id,
                actor=SCREENING,
                content_type=_content_type(data),
            )
            evidence_id = record.id
        case, _ = self.cases.add_finding(finding, actor=SCREENING, evidence_id=evidence_id)
        return case

    def close(self) -> None:
        self.store.close()


SCREENING = "system:screening"


_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
)


def _content_type(data: bytes) -> str:
    """The media type the console needs to show the evidence (by magic bytes, not trust)."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _enqueue_consequences(outbox: SqlOutbox) -> Any:
    """The transition hook: takedown/suspend on ACTIONED, restore on RESTORED."""

    def hook(conn: Connection, before: Case, after: Case) -> None:
        if after.state is CaseState.ACTIONED:
            ci = case_items.c
            rows = conn.execute(
                select(case_items).where(ci.case_id == after.id).order_by(ci.id)
            ).all()
            for event in actioned_events(after, to_items(conn, rows)):
                outbox.enqueue(event, conn=conn)
        elif after.state is CaseState.RESTORED:
            a = appeals.c
            appeal_id = conn.execute(
                select(a.id).where(a.case_id == after.id).order_by(a.id.desc()).limit(1)
            ).scalar_one()
            outbox.enqueue(restore_event(after, int(appeal_id)), conn=conn)

    return hook


def open_desk(store: SqlBankStore, settings: Settings) -> Desk:
    """The desk on ``store``'s engine (the store stays the caller's to close)."""
    engine = store.engine
    audit = SqlAuditLog(engine)
    outbox = SqlOutbox(engine, audit)
    cases = SqlCaseStore(engine, audit, settings)
    cases.transition_hooks.append(_enqueue_consequences(outbox))
    return Desk(
        settings=settings,
        store=store,
        audit=audit,
        evidence=SqlEvidenceStore(engine, audit, settings),
        cases=cases,
        reports=SqlReportStore(engine, audit, clock=lambda: datetime.now(UTC)),
        outbox=outbox,
        ledger=SqlHashLedger(engine, audit),
    )
