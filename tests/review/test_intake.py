"""Intake: findings from decisions, scan rows, reports, hash matches and model scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from childsafe.config import Settings
from childsafe.errors import ReviewError
from childsafe.review.base import CasePriority, DetectionSource, Subject, SubjectKind
from childsafe.review.intake import (
    from_decision,
    from_hash_match,
    from_model_scan,
    from_scan_row,
    from_user_report,
    priority_for,
)
from childsafe.review.sla import due_at, sla_hours, tightened
from childsafe.review.workflow import intake_decisions, intake_scan_rows
from childsafe.screening.base import ContentKind, DecisionEntry, PolicyRef, Source
from childsafe.screening.base import Subject as ScreenSubject
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.review import SqlCaseStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def entry(rid: str = "req-1", **kw: object) -> DecisionEntry:
    base: dict[str, object] = {
        "request_id": rid,
        "tenant": "acme",
        "created_at": NOW,
        "source": Source.API,
        "kind": ContentKind.IMAGE,
        "decision": "review",
        "reasons": ("classifier:image_risk:review",),
        "policy": PolicyRef("default", "3"),
        "content_sha256": "cd" * 32,
        "pdq": "ef" * 32,
        "subject": ScreenSubject(user_id="u-7", content_id="c-1"),
        "score_summary": {"image_risk.review": 0.8},
        "create_case": True,
    }
    return DecisionEntry(**(base | kw))  # type: ignore[arg-type]


def test_priority_rules() -> None:
    assert priority_for(matches=["known:pdq:12:3"]) is CasePriority.KNOWN_HASH
    assert priority_for(matches=["maybe:md5:1:0"], confirmed={"known"}) is CasePriority.CLASSIFIER
    assert priority_for(scores={"face_age.minor": 0.7}) is CasePriority.CLASSIFIER_MINOR
    assert priority_for(scores={"text_risk.score": 0.4}) is CasePriority.CLASSIFIER_MINOR
    assert (
        priority_for(scores={"face_age.minor": 0.0}) is CasePriority.CLASSIFIER
    )  # ran, saw nothing
    assert priority_for(scores={"nsfw.explicit": 0.9}) is CasePriority.CLASSIFIER
    assert priority_for(reasons=["classifier:text_risk:minor"]) is CasePriority.CLASSIFIER_MINOR
    assert priority_for(report=True) is CasePriority.USER_REPORT
    both = priority_for(matches=["known:md5:1:0"], scores={"face_age.minor": 0.9}, report=True)
    assert both is CasePriority.KNOWN_HASH


def test_from_decision() -> None:
    f = from_decision(entry())
    assert (f.tenant, f.subject, f.source, f.priority, f.kind) == (
        "acme",
        Subject(SubjectKind.USER, "u-7"),
        DetectionSource.CLASSIFIER,
        CasePriority.CLASSIFIER,
        "image",
    )
    assert f.hashes == {"sha256": "cd" * 32, "pdq": "ef" * 32}
    assert f.dedupe_key == "decision:api:req-1" and f.occurred_at == NOW
    assert f.provenance["policy"] == "default@3" and f.provenance["subject"]["content_id"] == "c-1"
    hit = from_decision(entry(match_summary=("known:pdq:5:2",), pdq=None))
    assert (hit.source, hit.priority, hit.hashes) == (
        DetectionSource.HASH,
        CasePriority.KNOWN_HASH,
        {"sha256": "cd" * 32},
    )
    gen = from_decision(entry(kind=ContentKind.GENERATED_TEXT, subject=ScreenSubject()))
    assert gen.generative_ai and gen.kind == "text"
    assert gen.subject == Subject(SubjectKind.UPLOAD, "req-1")
    convo = from_decision(entry(subject=ScreenSubject(conversation_id="cv-1")))
    assert convo.subject == Subject(SubjectKind.CONVERSATION, "cv-1")
    report = from_decision(
        entry(source=Source.USER_REPORT, score_summary={}, reasons=(), note="csem_other")
    )
    assert (report.source, report.priority) == (
        DetectionSource.USER_REPORT,
        CasePriority.USER_REPORT,
    )
    assert (
        report.reasons == ("report:csem_other",)
        and report.dedupe_key == "decision:user_report:req-1"
    )
    with pytest.raises(ReviewError, match="did not ask for a case"):
        from_decision(entry(create_case=False))


def test_from_scan_row() -> None:
    row = {
        "item_id": "shard-0/42",
        "source": "/data/ünïcode set",
        "shard": "shard-0",
        "member": "img/42.jpg",
        "row": None,
        "url": "https://example.org/42.jpg",
        "caption_sha256": "aa" * 32,
        "md5": "0" * 32,
        "sha256": "1" * 64,
        "pdq": None,
        "video_md5": None,
        "decision": "block",
        "reasons": ["match:known:md5"],
    }
    f = from_scan_row(row, tenant="acme")
    assert (f.subject, f.source, f.priority) == (
        Subject(SubjectKind.DATASET, "/data/ünïcode set"),
        DetectionSource.DATASET_SCAN,
        CasePriority.KNOWN_HASH,
    )
    assert f.matches == ("known:md5",) and f.hashes == {"md5": "0" * 32, "sha256": "1" * 64}
    assert "row" not in f.provenance and f.provenance["member"] == "img/42.jpg"
    assert f.kind == "dataset_item" and len(f.dedupe_key or "") <= 200
    assert from_scan_row(dict(row), tenant="acme").dedupe_key == f.dedupe_key
    assert from_scan_row(row | {"source": "/other"}, tenant="acme").dedupe_key != f.dedupe_key
    review = from_scan_row(
        row
        | {
            "decision": "review",
            "reasons": ["classifier:face_age:minor"],
            "kind": "image",
            "scores": [{"classifier": "face_age", "label": "minor", "score": 0.8}],
        },
        tenant="acme",
    )
    assert (review.priority, review.kind) == (CasePriority.CLASSIFIER_MINOR, "image")
    assert review.scores == {"face_age.minor": 0.8}
    structured = from_scan_row(
        row | {"matches": [{"bank": "b", "hash_type": "pdq", "entry_id": 3, "distance": 4}]},
        tenant="acme",
        confirmed={"other"},
    )
    assert structured.matches == ("b:pdq:3:4",) and structured.priority is CasePriority.CLASSIFIER
    with pytest.raises(ReviewError, match="item_id and source"):
        from_scan_row({"item_id": "x"}, tenant="acme")


def test_reports_hash_matches_and_models() -> None:
    subj = Subject(SubjectKind.UPLOAD, "up-9")
    rep = from_user_report("acme", subj, "up-9", kind="image", reason="csem_other", reporter="u1")
    hot = from_user_report("acme", subj, "up-9", kind="image", reason="csem_other", hotline=True)
    assert (rep.source, rep.priority, hot.source) == (
        DetectionSource.USER_REPORT,
        CasePriority.USER_REPORT,
        DetectionSource.HOTLINE_NOTICE,
    )
    assert rep.dedupe_key != hot.dedupe_key
    m = from_hash_match(
        "acme", subj, "up-9", kind="image", hashes={"md5": "0" * 32}, matches=["kb:md5:1:0"]
    )
    assert (m.priority, m.reasons) == (CasePriority.KNOWN_HASH, ("match:kb:md5",))
    with pytest.raises(ReviewError, match="no matches"):
        from_hash_match("acme", subj, "up-9", kind="image", hashes={}, matches=[])
    model = {
        "source": "model_scan",
        "kind": "model",
        "model_id": "org/lora-1",
        "path": "models/lora-1.safetensors",
        "severity": "medium",
        "rules": ["age_coded_term"],
        "reasons": ["an age-coded term in a training tag"],
        "sha256": "9" * 64,
        "scores": {"minor": 0.6, "sexual": 0.0},
        "dedupe_key": "model_scan:org/lora-1:" + "9" * 64,
    }
    mf = from_model_scan(model, tenant="acme")
    assert (mf.subject, mf.priority, mf.kind, mf.item_ref) == (
        Subject(SubjectKind.MODEL, "org/lora-1"),
        CasePriority.CLASSIFIER_MINOR,
        "model",
        "models/lora-1.safetensors",
    )
    plain = from_model_scan(model | {"scores": {}, "rules": ["stripped_metadata"]}, tenant="acme")
    assert plain.priority is CasePriority.CLASSIFIER
    with pytest.raises(ReviewError, match="model_id and path"):
        from_model_scan({"path": "x"}, tenant="acme")


def test_sla_helpers() -> None:
    hours = sla_hours({"1": 1, "2": 4, "3": 24, "4": 72})
    assert due_at(CasePriority.CLASSIFIER, NOW, hours) == NOW + timedelta(hours=24)
    later = NOW + timedelta(hours=10)
    assert tightened(NOW + timedelta(hours=72), CasePriority.KNOWN_HASH, later, hours) == (
        later + timedelta(hours=1)
    )
    assert tightened(NOW, CasePriority.USER_REPORT, later, hours) == NOW
    with pytest.raises(Exception, match="must be positive"):
        sla_hours({"1": 0, "2": 4, "3": 24, "4": 72})


def test_intake_decisions_and_scan_rows_are_idempotent(
    store: SqlBankStore, settings: Settings
) -> None:
    cs = SqlCaseStore(store.engine, SqlAuditLog(store.engine), settings)
    log = MemoryDecisionLog()
    log.record(entry("a"))
    log.record(entry("b", subject=ScreenSubject(user_id="u-8")))
    log.record(entry("c", create_case=False))
    log.record(entry("d", reasons=("classifier:nsfw:explicit",)))  # joins user u-7's case
    first = intake_decisions(log, cs, "acme")
    assert (first.findings, len(first.cases), first.errors) == (3, 2, [])
    again = intake_decisions(log, cs, "acme")
    assert again.items == first.items and len(cs.list("acme")) == 2
    rows = [
        {"item_id": "r1", "source": "/ds", "reasons": ["match:kb:md5"], "md5": "0" * 32},
        {"item_id": None, "source": "/ds"},  # broken row: an error result, not an abort
        {"item_id": "r2", "source": "/ds", "reasons": ["classifier:nsfw:explicit"]},
    ]
    res = intake_scan_rows(rows, cs, "acme")
    assert res.findings == 2 and len(res.cases) == 1
    assert [i for i, _ in res.errors] == ["None"]
    assert intake_scan_rows(rows, cs, "acme").items == res.items
    (case_id,) = res.cases
    assert cs.get("acme", case_id).priority is CasePriority.KNOWN_HASH
