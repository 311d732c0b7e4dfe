"""The desk wires the consequences of a decision: events with it, the bank right after."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection

from childsafe.actions.base import ActionKind
from childsafe.config import Settings
from childsafe.review.base import (
    Case,
    CasePriority,
    CaseState,
    DetectionSource,
    Finding,
    IndustryClass,
    Outcome,
    Role,
    Subject,
    SubjectKind,
)
from childsafe.storage import SqlBankStore
from childsafe.storage.desk import Desk, open_desk

MD5 = "0123456789abcdef" * 2
PDQ = "f" * 64


@pytest.fixture
def desk(store: SqlBankStore, tmp_path: Any) -> Desk:
    settings = Settings(home=tmp_path, second_review=False, secret_key="s" * 40)
    d = open_desk(store, settings)
    d.cases.add_reviewer("default", "alice", Role.REVIEWER, "pw-0123456789", actor="test")
    d.cases.add_reviewer("default", "lead", Role.LEAD, "pw-0123456789", actor="test")
    return d


def _case(desk: Desk, user: str = "user-ß-7") -> Case:
    finding = Finding(
        tenant="default",
        subject=Subject(SubjectKind.USER, user),
        source=DetectionSource.HASH,
        priority=CasePriority.KNOWN_HASH,
        item_ref=f"{user}/upload-1",
        kind="image",
        hashes={"md5": MD5, "pdq": PDQ},
    )
    case, _ = desk.cases.add_finding(finding, actor="test")
    desk.cases.claim("default", case.id, "alice")
    return case


def _violation(desk: Desk, case: Case) -> Case:
    return desk.decide(
        "default",
        case.id,
        "alice",
        outcome=Outcome.VIOLATION,
        reason_code="csam_known",
        industry_class=IndustryClass.A2,
    )


def _kinds(desk: Desk) -> list[ActionKind]:
    return sorted(e.event.kind for e in desk.outbox.list("default"))


def _bank(desk: Desk) -> set[tuple[str, str]]:
    entries = desk.store.for_tenant("default").iter_entries("confirmed")
    return {(e.hash_type, e.value) for e in entries}


def test_actioned_case_enqueues_takedown_and_suspension_and_fills_the_bank(desk: Desk) -> None:
    case = _violation(desk, _case(desk))
    assert case.state is CaseState.ACTIONED
    assert _kinds(desk) == sorted([ActionKind.TAKEDOWN, ActionKind.SUSPEND_ACCOUNT])
    assert _bank(desk) == {("md5", MD5), ("pdq", PDQ)}
    assert desk.audit.verify().ok


def test_no_violation_has_no_consequences(desk: Desk) -> None:
    case = desk.decide(
        "default", _case(desk).id, "alice", outcome=Outcome.NO_VIOLATION, reason_code="benign_child"
    )
    assert case.state is CaseState.NO_VIOLATION
    assert _kinds(desk) == []
    assert not desk.store.for_tenant("default").list_banks()


def test_granted_appeal_enqueues_restore_and_empties_the_bank(desk: Desk) -> None:
    case = _violation(desk, _case(desk))
    appeal = desk.cases.file_appeal("default", case.id, filed_by="user-ß-7")
    desk.decide_appeal("default", appeal.id, "lead", restore=True)
    assert desk.cases.get("default", case.id).state is CaseState.RESTORED
    assert ActionKind.RESTORE in _kinds(desk)
    assert _bank(desk) == set()


def test_a_failing_hook_rolls_the_decision_back(desk: Desk) -> None:
    """Decision and events commit together or not at all."""

    def boom(conn: Connection, before: Case, after: Case) -> None:
        raise RuntimeError("disk full")

    desk.cases.transition_hooks.append(boom)
    case = _case(desk)
    with pytest.raises(RuntimeError, match="disk full"):
        _violation(desk, case)
    assert desk.cases.get("default", case.id).state is CaseState.IN_REVIEW
    assert desk.cases.decisions("default", case.id) == []
    assert _kinds(desk) == []


def test_sync_confirmed_catches_up_after_a_crash_between_the_steps(desk: Desk) -> None:
    case = _case(desk)
    # The decision commits but the process dies before the bank step: call the store directly.
    desk.cases.decide(
        "default",
        case.id,
        "alice",
        outcome=Outcome.VIOLATION,
        reason_code="csam_known",
        industry_class=IndustryClass.B1,
    )
    assert _kinds(desk)  # the events made it with the decision
    assert not desk.store.for_tenant("default").list_banks()
    assert desk.sync_confirmed("default") == 1
    assert _bank(desk) == {("md5", MD5), ("pdq", PDQ)}
    assert desk.sync_confirmed("default") == 1  # idempotent
    assert len(list(desk.store.for_tenant("default").iter_entries("confirmed"))) == 2
