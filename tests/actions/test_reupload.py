"""Re-upload prevention and hash export against real banks and ledger (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from tests.actions.history import T0, MemoryCases, hashes, hx, upload, user

from childsafe.actions.export import export_confirmed, hashes_contributed
from childsafe.actions.reupload import ReuploadGuard, confirmed_items
from childsafe.banks.formats import pytx
from childsafe.errors import ActionError, BankNotFound
from childsafe.review.base import CaseState, DetectionSource, IndustryClass, Outcome
from childsafe.storage import SqlBankStore
from childsafe.storage.actions import SqlHashLedger
from childsafe.storage.audit import SqlAuditLog

HASH = DetectionSource.HASH


@pytest.fixture
def audit(store: SqlBankStore) -> SqlAuditLog:
    return SqlAuditLog(store.engine)


@pytest.fixture
def ledger(store: SqlBankStore, audit: SqlAuditLog) -> SqlHashLedger:
    return SqlHashLedger(store.engine, audit)


def _actioned(cases: MemoryCases, case_id: int, items: list[int], *, tenant: str = "default"):
    cases.add_case(
        case_id,
        subject=user(f"u{case_id}"),
        state=CaseState.ACTIONED,
        created=T0,
        actioned=T0 + timedelta(hours=1),
        tenant=tenant,
    )
    for i in items:
        cases.add_item(case_id, i, source=HASH, added=T0)
    cases.decide(case_id, case_id * 10, Outcome.VIOLATION, T0 + timedelta(minutes=30))


def _live(store: SqlBankStore, tenant: str = "default") -> dict[tuple[str, str], tuple]:
    return {
        (e.hash_type, e.value): (e.label, e.source, e.external_id)
        for e in store.for_tenant(tenant).iter_entries("confirmed")
    }


def test_confirm_adds_hashes_with_provenance_once(
    store: SqlBankStore, ledger: SqlHashLedger, audit: SqlAuditLog
) -> None:
    cases = MemoryCases()
    _actioned(cases, 1, [11, 12])
    guard = ReuploadGuard(store, ledger, cases)
    result = guard.confirm("default", 1, now=T0)
    assert (result.items, result.hashes, result.added, result.skipped) == (2, 6, 6, ())
    live = _live(store)
    assert live[("md5", hx(11, 32))] == ("A2", "case:1", "decision:10")
    assert live[("pdq", hx(112, 64))] == ("A2", "case:1", "decision:10")
    assert len(live) == 6
    version = store.get_bank("confirmed").version
    again = guard.confirm("default", 1, now=T0)
    assert again.added == 0 and again.hashes == 6
    assert store.get_bank("confirmed").version == version
    assert len(ledger.for_case("default", 1)) == 6
    assert [e.action for e in audit.entries(target_type="bank")] == ["hashes.confirm"]
    assert audit.verify().ok


def test_only_confirmed_cases_and_items_count(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    cases.add_case(2, subject=upload("x"), state=CaseState.SECOND_REVIEW, created=T0)
    cases.add_item(2, 21, source=HASH, added=T0)
    cases.decide(2, 20, Outcome.VIOLATION, T0)
    guard = ReuploadGuard(store, ledger, cases)
    with pytest.raises(ActionError, match="case 2 is second_review"):
        guard.confirm("default", 2)
    with pytest.raises(BankNotFound):
        store.get_bank("confirmed")  # nothing was created for an unconfirmed case
    # a whole-case violation, then "no violation" on one item: that item stays out
    _actioned(cases, 3, [31, 32])
    cases.decide(3, 31, Outcome.NO_VIOLATION, T0 + timedelta(hours=2), item_id=32)
    pairs = confirmed_items(cases.items("default", 3), cases.decisions("default", 3))
    assert [(i.id, d.id) for i, d in pairs] == [(31, 30)]
    assert guard.confirm("default", 3).items == 1
    assert {v for _, v in _live(store)} == {hx(31, 32), hx(31, 64), hx(131, 64)}


def test_bad_hashes_are_skipped_and_named(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    cases.add_case(4, subject=user("u4"), state=CaseState.ACTIONED, created=T0, actioned=T0)
    bad = {"md5": "not-a-hash", "sha256": hx(4, 64).upper(), "sha1": hx(4, 40)}
    cases.add_item(4, 41, source=HASH, added=T0, item_hashes=bad)
    cases.decide(4, 40, Outcome.VIOLATION, T0, industry_class=None, reason_code="csem_other")
    result = ReuploadGuard(store, ledger, cases).confirm("default", 4)
    assert result.added == 1 and len(result.skipped) == 1
    assert "case 4 item 41: md5" in result.skipped[0]
    # canonical (lower-case) form stored; sha1 is not a confirmed type; no class → reason code
    assert _live(store) == {("sha256", hx(4, 64)): ("csem_other", "case:4", "decision:40")}


def test_restore_removes_only_unvouched_hashes(
    store: SqlBankStore, ledger: SqlHashLedger, audit: SqlAuditLog
) -> None:
    cases = MemoryCases()
    _actioned(cases, 5, [51, 52])
    _actioned(cases, 6, [61])
    # case 6 holds the same file as case 5's item 51
    cases.item_map[6][0] = replace(cases.item_map[6][0], hashes=hashes(51))
    guard = ReuploadGuard(store, ledger, cases)
    guard.confirm("default", 5)
    assert guard.confirm("default", 6).added == 0  # already there through case 5
    with pytest.raises(ActionError, match="case 5 is actioned"):
        guard.restore("default", 5)
    cases.set_state(5, CaseState.RESTORED)
    result = guard.restore("default", 5)
    assert (result.removed, result.kept) == (3, 3)  # item 52's gone; 51's vouched by case 6
    assert {v for _, v in _live(store)} == {hx(51, 32), hx(51, 64), hx(151, 64)}
    assert guard.restore("default", 5).removed == 0  # idempotent
    cases.set_state(6, CaseState.RESTORED)
    assert guard.restore("default", 6).removed == 3
    assert _live(store) == {}
    removed = list(store.iter_entries("confirmed", include_deleted=True))
    assert len(removed) == 6 and all(e.deleted for e in removed)  # tombstones, not deletes
    assert [e.action for e in audit.entries(target_type="bank")].count("hashes.release") == 2


def test_reconfirming_after_restore_revives(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    _actioned(cases, 7, [71])
    guard = ReuploadGuard(store, ledger, cases)
    guard.confirm("default", 7)
    cases.set_state(7, CaseState.RESTORED)
    guard.restore("default", 7)
    cases.set_state(7, CaseState.ACTIONED)  # a later review confirmed it after all
    assert guard.confirm("default", 7).added == 3
    assert all(k.released_at is None for k in ledger.for_case("default", 7))


def test_tenants_are_kept_apart(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    _actioned(cases, 8, [81], tenant="acme")
    ReuploadGuard(store, ledger, cases).confirm("acme", 8)
    assert len(_live(store, "acme")) == 3
    with pytest.raises(BankNotFound):
        store.get_bank("confirmed")
    assert ledger.contributed("acme") == 3 and ledger.contributed("default") == 0


def test_export_is_pytx_and_leaks_no_case_ids(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    with pytest.raises(BankNotFound):
        export_confirmed(store, "default", io.StringIO())
    _actioned(cases, 9, [91, 92])
    _actioned(cases, 10, [101])
    guard = ReuploadGuard(store, ledger, cases)
    for case_id in (9, 10):
        guard.confirm("default", case_id)
    cases.set_state(10, CaseState.RESTORED)
    guard.restore("default", 10)
    out = io.StringIO()
    assert export_confirmed(store, "default", out, collab="Example Platform") == 6
    text = out.getvalue()
    assert text.startswith("signal_type,signal_str,collab,category,tags\n")
    assert "case:" not in text and "decision:" not in text and hx(101, 32) not in text
    back = list(pytx.parse(io.StringIO(text), source="export.csv"))
    assert {(r.hash_type, r.value) for r in back} == set(_live(store))
    assert {r.source for r in back} == {"Example Platform"} and {r.label for r in back} == {"A2"}
    only_pdq = io.StringIO()
    assert export_confirmed(store, "default", only_pdq, hash_type="pdq") == 2


def test_hashes_contributed_by_period(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    cases = MemoryCases()
    _actioned(cases, 11, [111])
    _actioned(cases, 12, [121])
    cases.item_map[12].append(cases.item_map[11][0])  # one file in both cases
    guard = ReuploadGuard(store, ledger, cases)
    guard.confirm("default", 11, now=T0)
    guard.confirm("default", 12, now=T0 + timedelta(days=40))
    march = {"since": T0, "until": T0 + timedelta(days=31)}
    april = {"since": T0 + timedelta(days=31), "until": T0 + timedelta(days=61)}
    assert hashes_contributed(ledger, "default", **march) == 3
    assert hashes_contributed(ledger, "default", **april) == 3  # 121's only; 111 was March's
    assert ledger.contributed("default") == 6
    assert IndustryClass.A2.value == {k.label for k in ledger.for_case("default", 12)}.pop()


def test_with_the_real_case_store(store: SqlBankStore, ledger: SqlHashLedger) -> None:
    """The whole path on SQL: a finding, a confirmed decision, the bank, a granted appeal."""
    from childsafe.config import Settings
    from childsafe.review.base import CasePriority, Finding, Role, Subject, SubjectKind
    from childsafe.storage.review import SqlCaseStore

    audit = SqlAuditLog(store.engine)
    cases = SqlCaseStore(store.engine, audit, Settings(second_review=True))
    for name, role in (("alice", Role.REVIEWER), ("bob", Role.REVIEWER), ("lead", Role.LEAD)):
        cases.add_reviewer("default", name, role, "pw-0123456789", actor="test")
    finding = Finding(
        tenant="default",
        subject=Subject(SubjectKind.UPLOAD, "upload-ü-1"),
        source=DetectionSource.HASH,
        priority=CasePriority.KNOWN_HASH,
        item_ref="upload-ü-1",
        kind="image",
        hashes={"md5": hx(1, 32), "pdq": hx(2, 64)},
    )
    case, _ = cases.add_finding(finding, actor="test")
    guard = ReuploadGuard(store, ledger, cases)
    cases.claim("default", case.id, "alice")
    first = cases.decide(
        "default",
        case.id,
        "alice",
        outcome=Outcome.VIOLATION,
        reason_code="csam_known",
        industry_class=IndustryClass.B2,
    )
    with pytest.raises(ActionError, match="second_review"):
        guard.confirm("default", first.id)  # one reviewer is not enough
    cases.claim("default", case.id, "bob")
    cases.decide(
        "default",
        case.id,
        "bob",
        outcome=Outcome.VIOLATION,
        reason_code="csam_known",
        industry_class=IndustryClass.B2,
    )
    assert guard.confirm("default", case.id).added == 2
    assert {e[0] for e in _live(store).values()} == {"B2"}
    appeal = cases.file_appeal("default", case.id, filed_by="upload-owner")
    cases.decide_appeal("default", appeal.id, "lead", restore=True)
    assert guard.restore("default", case.id).removed == 2
    assert _live(store) == {} and audit.verify().ok
