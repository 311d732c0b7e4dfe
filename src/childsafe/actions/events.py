"""Build the action events a case's lifecycle calls for, with stable idempotency keys.

Keys are derived from what the event is about (``takedown:<tenant>:<case>:<item>``) rather
than random, so that code which records an action twice (a retried request, a rerun after
a crash) enqueues one event, and the outbox's unique key absorbs the second.
"""

from __future__ import annotations

from collections.abc import Sequence

from childsafe.actions.base import ActionEvent, ActionKind
from childsafe.review.base import Case, CaseItem, SubjectKind


def _key(kind: ActionKind, case: Case, suffix: str) -> str:
    return f"{kind.value}:{case.tenant}:{case.id}:{suffix}"


def actioned_events(
    case: Case, items: Sequence[CaseItem], *, reason_code: str | None = None
) -> list[ActionEvent]:
    """A takedown per confirmed item, and an account suspension when the subject is a user."""
    data = {"reason_code": reason_code} if reason_code else {}
    events = [
        ActionEvent(
            tenant=case.tenant,
            kind=ActionKind.TAKEDOWN,
            subject_kind=case.subject.kind.value,
            subject_id=case.subject.id,
            case_id=case.id,
            data=data | {"item_id": item.id, "item_ref": item.item_ref, "kind": item.kind},
            event_id=_key(ActionKind.TAKEDOWN, case, str(item.id)),
        )
        for item in items
    ]
    if case.subject.kind is SubjectKind.USER:
        events.append(
            ActionEvent(
                tenant=case.tenant,
                kind=ActionKind.SUSPEND_ACCOUNT,
                subject_kind=case.subject.kind.value,
                subject_id=case.subject.id,
                case_id=case.id,
                data=data,
                event_id=_key(ActionKind.SUSPEND_ACCOUNT, case, case.subject.id),
            )
        )
    return events


def restore_event(case: Case, appeal_id: int) -> ActionEvent:
    """Undo the takedowns and suspension of a case whose appeal was granted."""
    return ActionEvent(
        tenant=case.tenant,
        kind=ActionKind.RESTORE,
        subject_kind=case.subject.kind.value,
        subject_id=case.subject.id,
        case_id=case.id,
        data={"appeal_id": appeal_id},
        event_id=_key(ActionKind.RESTORE, case, str(appeal_id)),
    )


def report_filed_event(case: Case, report_id: int, destination: str) -> ActionEvent:
    """Tell the platform a hotline report was filed (its own records; no report content)."""
    return ActionEvent(
        tenant=case.tenant,
        kind=ActionKind.REPORT_FILED,
        subject_kind=case.subject.kind.value,
        subject_id=case.subject.id,
        case_id=case.id,
        data={"report_id": report_id, "destination": destination},
        event_id=_key(ActionKind.REPORT_FILED, case, str(report_id)),
    )
