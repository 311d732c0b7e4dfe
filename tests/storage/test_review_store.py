"""SqlCaseStore on SQLite and PostgreSQL: intake, claims, transitions, reveals, appeals."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from childsafe.config import Settings
from childsafe.errors import ReviewError
from childsafe.review.base import (
    CaseFilter,
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
from childsafe.review.errors import CaseNotFound
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.review import SqlCaseStore

T = "acme"
PW = "correct horse battery"


def finding(
    subject: str = "user-1",
    ref: str = "up-1",
    *,
    priority: CasePriority = CasePriority.CLASSIFIER,
    kind: str = "image",
    source: DetectionSource = DetectionSource.CLASSIFIER,
    dedupe: str | None = "",
    tenant: str = T,
) -> Finding:
    return Finding(
        tenant=tenant,
        subject=Subject(SubjectKind.USER, subject),
        source=source,
        priority=priority,
        item_ref=ref,
        kind=kind,
        reasons=("classifier:image_risk:review",),
        hashes={"sha256": "ab" * 32},
        scores={"image_risk.score": 0.9, "bad": float("nan")},
        provenance={"shard": "s1"},
        dedupe_key=f"k:{ref}" if dedupe == "" else dedupe,
    )


@pytest.fixture
def cs(store: SqlBankStore, settings: Settings) -> SqlCaseStore:
    s = SqlCaseStore(store.engine, SqlAuditLog(store.engine), settings)
    for name, role in [
        ("rita", Role.REVIEWER),
        ("remy", Role.REVIEWER),
        ("lena", Role.LEAD),
        ("otto", Role.AUDITOR),
    ]:
        s.add_reviewer(T, name, role, PW, actor="cli:root", daily_reveal_limit=3)
    s.add_reviewer(T, "mona", Role.REVIEWER, PW, actor="cli:root", metadata_only=True)
    return s


def audit_actions(cs: SqlCaseStore) -> list[str]:
    return [e.action for e in cs.audit.entries(T)]


def violation(cs: SqlCaseStore, case_id: int, who: str) -> None:
    cs.decide(
        T,
        case_id,
        who,
        outcome=Outcome.VIOLATION,
        reason_code="csam_new",
        industry_class=IndustryClass.B2,
    )


def test_intake_groups_by_subject_and_is_idempotent(cs: SqlCaseStore) -> None:
    c1, i1 = cs.add_finding(finding(ref="a"), actor="system:intake")
    assert (c1.state, c1.priority, c1.item_count, c1.sources) == (
        CaseState.OPEN,
        CasePriority.CLASSIFIER,
        1,
        (DetectionSource.CLASSIFIER,),
    )
    assert c1.due_at - c1.created_at == timedelta(hours=24)
    assert i1.scores == {"image_risk.score": 0.9}  # NaN dropped, finding still stored
    assert not i1.file_viewed and not i1.exif_viewed
    n_audit = len(audit_actions(cs))
    again, same = cs.add_finding(finding(ref="a"), actor="system:intake")
    assert (again.id, same.id, again.item_count) == (c1.id, i1.id, 1)
    assert len(audit_actions(cs)) == n_audit  # nothing happened, nothing logged
    c2, _ = cs.add_finding(
        finding(ref="b", priority=CasePriority.KNOWN_HASH, source=DetectionSource.HASH),
        actor="system:intake",
    )
    assert c2.id == c1.id and c2.item_count == 2 and c2.priority == CasePriority.KNOWN_HASH
    assert c2.sources == (DetectionSource.CLASSIFIER, DetectionSource.HASH)
    assert c2.due_at <= datetime.now(UTC) + timedelta(hours=1)
    c3, _ = cs.add_finding(
        finding(ref="c", priority=CasePriority.USER_REPORT), actor="system:intake"
    )
    assert (c3.priority, c3.due_at) == (CasePriority.KNOWN_HASH, c2.due_at)  # never later
    other, _ = cs.add_finding(finding("user-2", ref="d"), actor="system:intake")
    assert other.id != c1.id
    nokey1 = cs.add_finding(finding(ref="e", dedupe=None), actor="x")[1]
    nokey2 = cs.add_finding(finding(ref="e", dedupe=None), actor="x")[1]
    assert nokey1.id != nokey2.id  # no dedupe key: every call is a new item
    assert [i.item_ref for i in cs.items(T, c1.id)] == ["a", "b", "c", "e", "e"]
    assert audit_actions(cs).count("case.create") == 2


def test_closed_case_lets_subject_open_a_new_one(cs: SqlCaseStore) -> None:
    c, _ = cs.add_finding(finding(ref="a"), actor="x")
    cs.claim(T, c.id, "rita")
    done = cs.decide(T, c.id, "rita", outcome=Outcome.NO_VIOLATION, reason_code="benign_child")
    assert done.state is CaseState.NO_VIOLATION and done.closed_at is not None
    fresh, _ = cs.add_finding(finding(ref="b"), actor="x")
    assert fresh.id != c.id and fresh.state is CaseState.OPEN


def test_bad_findings_are_clear_errors(cs: SqlCaseStore) -> None:
    with pytest.raises(ReviewError, match="NUL"):
        cs.add_finding(finding(subject="a\x00b"), actor="x")
    with pytest.raises(ReviewError, match="subject id"):
        cs.add_finding(finding(subject="x" * 1001), actor="x")
    with pytest.raises(ReviewError, match="tenant"):
        cs.add_finding(finding(tenant="Bad Tenant"), actor="x")
    with pytest.raises(ReviewError, match="dedupe_key"):
        cs.add_finding(finding(dedupe="k" * 201), actor="x")
    c, i = cs.add_finding(finding(subject="ユーザー 🙂", ref="写真"), actor="x")
    assert cs.get(T, c.id).subject.id == "ユーザー 🙂" and cs.item(T, i.id).item_ref == "写真"


def test_queue_order_filters_and_tenant_isolation(cs: SqlCaseStore) -> None:
    low, _ = cs.add_finding(finding("u1", "a", priority=CasePriority.USER_REPORT), actor="x")
    high, _ = cs.add_finding(finding("u2", "b", priority=CasePriority.KNOWN_HASH), actor="x")
    mid, _ = cs.add_finding(finding("u3", "c", priority=CasePriority.CLASSIFIER), actor="x")
    assert [c.id for c in cs.list(T)] == [high.id, mid.id, low.id]
    assert [c.id for c in cs.list(T, CaseFilter(priority=CasePriority.CLASSIFIER))] == [mid.id]
    assert cs.list(T, CaseFilter(source=DetectionSource.HASH)) == []
    later = datetime.now(UTC) + timedelta(hours=2)
    assert [c.id for c in cs.list(T, CaseFilter(overdue_at=later))] == [high.id]
    got = cs.claim_next(T, "rita")
    assert got is not None and got.id == high.id and got.state is CaseState.IN_REVIEW
    assert [c.id for c in cs.list(T, CaseFilter(assignee="rita"))] == [high.id]
    waiting = cs.list(T, CaseFilter(states=frozenset({CaseState.OPEN})))
    assert [c.id for c in waiting] == [mid.id, low.id]
    with pytest.raises(CaseNotFound):
        cs.get("other", high.id)
    with pytest.raises(CaseNotFound):
        cs.items("other", high.id)
    assert cs.list("other") == []
    with pytest.raises(ReviewError, match="limit"):
        cs.list(T, CaseFilter(limit=0))


def test_claim_rules(cs: SqlCaseStore) -> None:
    assert cs.claim_next(T, "rita") is None
    c, _ = cs.add_finding(finding(), actor="x")
    with pytest.raises(ReviewError, match="auditor"):
        cs.claim_next(T, "otto")
    with pytest.raises(ReviewError, match="no reviewer"):
        cs.claim(T, c.id, "nobody")
    cs.claim(T, c.id, "rita")
    assert cs.claim(T, c.id, "rita").assignee == "rita"  # idempotent for the holder
    with pytest.raises(ReviewError, match="already claimed by 'rita'"):
        cs.claim(T, c.id, "remy")
    with pytest.raises(ReviewError, match="claimed by 'rita', not 'remy'"):
        cs.release(T, c.id, "remy")
    back = cs.release(T, c.id, "rita")
    assert (back.state, back.assignee) == (CaseState.OPEN, None)
    cs.claim(T, c.id, "remy")
    assert cs.release(T, c.id, "lena").assignee is None  # a lead may release anyone's


def test_second_review_agreement_actions(cs: SqlCaseStore) -> None:
    c, item = cs.add_finding(finding(), actor="x")
    with pytest.raises(ReviewError, match="not claimed by 'rita'"):
        violation(cs, c.id, "rita")
    cs.claim(T, c.id, "rita")
    violation(cs, c.id, "rita")
    c = cs.get(T, c.id)
    assert (c.state, c.assignee) == (CaseState.SECOND_REVIEW, None)
    assert c.first_decision_at is not None
    with pytest.raises(ReviewError, match="someone other than"):
        cs.claim(T, c.id, "rita")
    assert cs.claim_next(T, "rita") is None  # the queue hides it from the first reviewer
    got = cs.claim_next(T, "remy")
    assert got is not None and (got.id, got.state) == (c.id, CaseState.SECOND_REVIEW)
    cs.decide(
        T,
        c.id,
        "remy",
        outcome=Outcome.VIOLATION,
        reason_code="csam_new",
        item_id=item.id,
        industry_class=IndustryClass.B2,
        note="agree",
    )
    done = cs.get(T, c.id)
    assert done.state is CaseState.ACTIONED and done.actioned_at is not None
    ds = cs.decisions(T, c.id)
    assert [(d.reviewer, d.second_review, d.item_id) for d in ds] == [
        ("rita", False, None),
        ("remy", True, item.id),
    ]
    # the subject's next finding opens a new case: the actioned one is closed to intake
    assert cs.add_finding(finding(ref="later"), actor="x")[0].id != c.id


def test_disagreement_escalates_to_a_lead(cs: SqlCaseStore) -> None:
    c, _ = cs.add_finding(finding(kind="text"), actor="x")
    cs.claim(T, c.id, "rita")
    cs.decide(T, c.id, "rita", outcome=Outcome.VIOLATION, reason_code="csem_grooming")
    cs.claim(T, c.id, "remy")
    cs.decide(T, c.id, "remy", outcome=Outcome.NO_VIOLATION, reason_code="insufficient")
    assert cs.get(T, c.id).state is CaseState.ESCALATED
    assert cs.claim_next(T, "remy") is None
    with pytest.raises(ReviewError, match="only a lead"):
        cs.claim(T, c.id, "remy")
    assert cs.claim_next(T, "lena") is not None
    with pytest.raises(ReviewError, match="already escalated"):
        cs.decide(T, c.id, "lena", outcome=Outcome.ESCALATE, reason_code="insufficient")
    cs.decide(T, c.id, "lena", outcome=Outcome.VIOLATION, reason_code="csem_grooming")
    assert cs.get(T, c.id).state is CaseState.ACTIONED  # the lead sides with the first


def test_escalate_then_lead_violation_still_needs_a_second(cs: SqlCaseStore) -> None:
    c, _ = cs.add_finding(finding(kind="text"), actor="x")
    cs.claim(T, c.id, "rita")
    cs.decide(T, c.id, "rita", outcome=Outcome.ESCALATE, reason_code="insufficient")
    cs.claim(T, c.id, "lena")
    cs.decide(T, c.id, "lena", outcome=Outcome.VIOLATION, reason_code="csem_other")
    c = cs.get(T, c.id)
    assert c.state is CaseState.SECOND_REVIEW
    with pytest.raises(ReviewError, match="someone other"):
        cs.claim(T, c.id, "lena")
    cs.claim(T, c.id, "rita")
    cs.decide(T, c.id, "rita", outcome=Outcome.VIOLATION, reason_code="csem_other")
    assert cs.get(T, c.id).state is CaseState.ACTIONED


def test_without_second_review_a_violation_actions(store: SqlBankStore, settings: Settings) -> None:
    one = settings.model_copy(update={"second_review": False})
    cs = SqlCaseStore(store.engine, SqlAuditLog(store.engine), one)
    cs.add_reviewer(T, "rita", Role.REVIEWER, PW, actor="cli:root")
    c, _ = cs.add_finding(finding(), actor="x")
    cs.claim(T, c.id, "rita")
    violation(cs, c.id, "rita")
    assert cs.get(T, c.id).state is CaseState.ACTIONED


def test_decision_validation(cs: SqlCaseStore) -> None:
    c, item = cs.add_finding(finding(kind="image"), actor="x")
    _, txt = cs.add_finding(finding(ref="t", kind="text"), actor="x")
    other, foreign = cs.add_finding(finding("u9", "z"), actor="x")
    cs.claim(T, c.id, "rita")

    def bad(match: str, **kw: object) -> None:
        args: dict[str, object] = {"outcome": Outcome.VIOLATION, "reason_code": "csam_new"}
        with pytest.raises(ReviewError, match=match):
            cs.decide(T, c.id, "rita", **(args | kw))  # type: ignore[arg-type]

    bad("unknown reason code 'nope'", reason_code="nope")
    bad("needs an industry class")
    bad("needs an industry class", item_id=item.id)
    bad("does not describe a violation", reason_code="benign_child", industry_class="A2")
    bad("describes a violation", outcome=Outcome.NO_VIOLATION)
    bad("industry classes? apply|applies to violations", outcome=Outcome.ESCALATE,
        reason_code="insufficient", industry_class="A1")  # fmt: skip
    bad(f"has no item {foreign.id}", item_id=foreign.id, industry_class="A1")
    bad("'Z9' is not a valid IndustryClass", industry_class="Z9")
    # a text item alone needs no class
    cs.decide(T, c.id, "rita", outcome=Outcome.VIOLATION, reason_code="csem_other", item_id=txt.id)
    assert cs.get(T, c.id).state is CaseState.SECOND_REVIEW
    assert cs.get(T, other.id).state is CaseState.OPEN
    with pytest.raises(ReviewError, match="auditor"):
        cs.claim(T, other.id, "otto")


def test_reveals_derive_viewed_flags_and_respect_limits(cs: SqlCaseStore) -> None:
    c, item = cs.add_finding(finding(), actor="x")
    _, item2 = cs.add_finding(finding(ref="b"), actor="x")
    with pytest.raises(ReviewError, match="claim case"):
        cs.reveal(T, item.id, "rita", "file")
    cs.claim(T, c.id, "rita")
    with pytest.raises(ReviewError, match="auditor"):
        cs.reveal(T, item.id, "otto", "file")
    with pytest.raises(ReviewError, match="metadata only"):
        cs.reveal(T, item.id, "mona", "file")
    with pytest.raises(ReviewError, match="file before its EXIF"):
        cs.reveal(T, item.id, "rita", "exif")
    with pytest.raises(ReviewError, match="'file' or 'exif'"):
        cs.reveal(T, item.id, "rita", "thumbnail")
    with pytest.raises(ReviewError, match="tenant 'other' has no reviewer 'rita'"):
        cs.reveal("other", item.id, "rita", "file")
    with pytest.raises(CaseNotFound, match="no case item 999999"):
        cs.reveal(T, 999999, "rita", "file")
    assert cs.reveal(T, item.id, "rita", "file").reveals == 1
    seen = cs.item(T, item.id)
    assert (seen.file_viewed, seen.exif_viewed) == (True, False)
    exp = cs.reveal(T, item.id, "rita", "exif")
    assert (exp.reveals, exp.remaining) == (2, 1)
    assert cs.item(T, item.id).exif_viewed and not cs.item(T, item2.id).file_viewed
    assert cs.reveal(T, item2.id, "lena", "file").reveals == 1  # leads need no claim
    cs.reveal(T, item2.id, "rita", "file")
    with pytest.raises(ReviewError, match="daily limit of 3"):
        cs.reveal(T, item2.id, "rita", "file")
    assert [(r.reviewer, r.what) for r in cs.reveals(T, item.id)] == [
        ("rita", "file"),
        ("rita", "exif"),
    ]
    assert cs.exposure(T, "rita").reveals == 3
    assert cs.exposure(T, "rita", "2001-01-01").reveals == 0
    with pytest.raises(ReviewError, match="bad day"):
        cs.exposure(T, "rita", "yesterday")
    acts = audit_actions(cs)
    assert acts.count("item.reveal_file") == 3 and acts.count("item.reveal_exif") == 1


def test_reveals_and_decisions_are_append_only(cs: SqlCaseStore) -> None:
    c, item = cs.add_finding(finding(kind="text"), actor="x")
    cs.claim(T, c.id, "rita")
    cs.reveal(T, item.id, "rita", "file")
    cs.decide(T, c.id, "rita", outcome=Outcome.ESCALATE, reason_code="insufficient")
    for stmt in (
        "UPDATE reveals SET what = 'exif'",
        "DELETE FROM reveals",
        "UPDATE review_decisions SET outcome = 'violation'",
        "DELETE FROM review_decisions",
    ):
        with pytest.raises(Exception, match="append-only"), cs.engine.begin() as conn:
            conn.execute(text(stmt))
    assert cs.item(T, item.id).file_viewed


def test_parallel_claims_never_share_a_case(cs: SqlCaseStore) -> None:
    n_cases, names = 24, [f"r{i}" for i in range(6)]
    for name in names:
        cs.add_reviewer(T, name, Role.REVIEWER, PW, actor="cli:root")
    ids = {cs.add_finding(finding(f"u{i}", f"i{i}"), actor="x")[0].id for i in range(n_cases)}
    got: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(names))

    def work(name: str) -> None:
        try:
            start.wait()
            while (case := cs.claim_next(T, name)) is not None:
                got.append((name, case.id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    claimed = Counter(cid for _, cid in got)
    assert set(claimed) == ids and set(claimed.values()) == {1}
    assert {c.assignee for c in cs.list(T)} <= set(names)
    assert audit_actions(cs).count("case.claim") == n_cases
    assert cs.audit.verify().ok


def test_parallel_intake_opens_one_case_per_subject(cs: SqlCaseStore) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(5):  # items 0-4 are sent by every worker: one row each
                cs.add_finding(finding("same", f"shared{i}"), actor="x")
                cs.add_finding(finding("same", f"own{worker}-{i}"), actor="x")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cases = cs.list(T)
    assert len(cases) == 1 and cases[0].item_count == 5 + 6 * 5
    assert len(cs.items(T, cases[0].id)) == 35
    assert audit_actions(cs).count("case.add_item") == 35
    assert cs.audit.verify().ok


def _actioned(cs: SqlCaseStore) -> int:
    c, _ = cs.add_finding(finding(kind="text"), actor="x")
    cs.claim(T, c.id, "rita")
    cs.decide(T, c.id, "rita", outcome=Outcome.VIOLATION, reason_code="csem_other")
    cs.claim(T, c.id, "remy")
    cs.decide(T, c.id, "remy", outcome=Outcome.VIOLATION, reason_code="csem_other")
    return c.id


def test_appeals(cs: SqlCaseStore) -> None:
    open_case, _ = cs.add_finding(finding("u5", "q"), actor="x")
    with pytest.raises(ReviewError, match="only actioned cases can be appealed"):
        cs.file_appeal(T, open_case.id, filed_by="u5")
    cid = _actioned(cs)
    a = cs.file_appeal(T, cid, filed_by="user-1", statement="it was a family photo")
    assert (a.outcome, cs.get(T, cid).state) == (None, CaseState.APPEALED)
    with pytest.raises(ReviewError, match="appealed"):
        cs.file_appeal(T, cid, filed_by="user-1")
    with pytest.raises(ReviewError, match="only a lead"):
        cs.decide_appeal(T, a.id, "rita", restore=True)
    upheld = cs.decide_appeal(T, a.id, "lena", restore=False, note="stands")
    assert (upheld.outcome, upheld.decided_by) == ("upheld", "lena")
    assert cs.get(T, cid).state is CaseState.ACTIONED  # reporting still pending
    with pytest.raises(ReviewError, match="already decided"):
        cs.decide_appeal(T, a.id, "lena", restore=True)
    closed = cs.close(T, cid, "system:reporting")
    assert closed.state is CaseState.CLOSED and closed.closed_at is not None
    with pytest.raises(ReviewError, match="only actioned cases close"):
        cs.close(T, cid, "system:reporting")
    b = cs.file_appeal(T, cid, filed_by="user-1")
    restored = cs.decide_appeal(T, b.id, "lena", restore=True)
    assert restored.outcome == "restored" and cs.get(T, cid).state is CaseState.RESTORED
    assert [x.id for x in cs.appeals(T, cid)] == [a.id, b.id]
    with pytest.raises(CaseNotFound, match="no appeal 999999"):
        cs.decide_appeal(T, 999999, "lena", restore=True)
    acts = audit_actions(cs)
    assert acts.count("appeal.file") == 2 and acts.count("appeal.decide") == 2


def test_escalate_overdue(cs: SqlCaseStore) -> None:
    urgent, _ = cs.add_finding(finding("u1", "a", priority=CasePriority.KNOWN_HASH), actor="x")
    slow, _ = cs.add_finding(finding("u2", "b", priority=CasePriority.USER_REPORT), actor="x")
    cs.claim(T, urgent.id, "rita")
    now = datetime.now(UTC)
    assert cs.escalate_overdue(now) == 0
    assert cs.escalate_overdue(now + timedelta(hours=2)) == 1
    up = cs.get(T, urgent.id)
    assert (up.state, up.assignee, up.overdue(now + timedelta(hours=2))) == (
        CaseState.ESCALATED,
        None,
        True,
    )
    assert cs.get(T, slow.id).state is CaseState.OPEN
    assert cs.escalate_overdue(now + timedelta(hours=2)) == 0  # already escalated
    assert cs.escalate_overdue(now + timedelta(days=4)) == 1
    entry = next(e for e in cs.audit.entries(T) if e.action == "case.escalate")
    assert entry.actor == "system:sla" and entry.details["state_from"] == "in_review"


def test_reviewer_accounts(cs: SqlCaseStore) -> None:
    assert [r.username for r in cs.reviewers(T)] == ["lena", "mona", "otto", "remy", "rita"]
    rita = cs.reviewer(T, "rita")
    assert (rita.role, rita.daily_reveal_limit) == (Role.REVIEWER, 3)
    assert cs.reviewer(T, "otto").daily_reveal_limit == 0
    assert cs.reviewer(T, "mona").daily_reveal_limit == 50  # the settings' default
    assert cs.authenticate(T, "rita", PW) == rita
    assert cs.authenticate(T, "rita", PW + "!") is None
    assert cs.authenticate(T, "nobody", PW) is None
    assert cs.authenticate("other", "rita", PW) is None
    with pytest.raises(ReviewError, match="already has a reviewer"):
        cs.add_reviewer(T, "rita", Role.LEAD, PW, actor="cli:root")
    with pytest.raises(ReviewError, match="bad reviewer username"):
        cs.add_reviewer(T, "no spaces", Role.LEAD, PW, actor="cli:root")
    with pytest.raises(ReviewError, match="password must be"):
        cs.add_reviewer(T, "short", Role.LEAD, "abc", actor="cli:root")
    with pytest.raises(ReviewError, match="unknown role"):
        cs.add_reviewer(T, "x", "boss", PW, actor="cli:root")  # type: ignore[arg-type]
    with cs.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM reviewers")).scalars().all()
    assert all(s.startswith("scrypt$") and PW not in s for s in stored)
    assert len(set(stored)) == len(stored)  # per-user salt: same password, different hashes
    cs.disable_reviewer(T, "remy", actor="cli:root")
    assert cs.authenticate(T, "remy", PW) is None
    with pytest.raises(ReviewError, match="disabled"):
        cs.claim_next(T, "remy")
    added = [e for e in cs.audit.entries(T) if e.action == "reviewer.add"]
    assert len(added) == 5 and all("password" not in str(e.details) for e in added)


def test_every_change_is_audited_and_chain_verifies(cs: SqlCaseStore) -> None:
    cid = _actioned(cs)
    acts = audit_actions(cs)
    assert acts[-6:] == [
        "case.create",
        "case.add_item",
        "case.claim",
        "case.decide",
        "case.claim",
        "case.decide",
    ]
    decided = [e for e in cs.audit.entries(T, target_type="case", target_id=str(cid))]
    assert decided[-1].details["state_to"] == "actioned" and decided[-1].actor == "reviewer:remy"
    assert cs.audit.verify().ok


def test_bad_sla_settings_are_refused(store: SqlBankStore, settings: Settings) -> None:
    from childsafe.errors import ConfigError

    bad = settings.model_copy(update={"sla_hours": {"1": 1.0}})
    with pytest.raises(ConfigError, match="priority 2"):
        SqlCaseStore(store.engine, SqlAuditLog(store.engine), bad)
