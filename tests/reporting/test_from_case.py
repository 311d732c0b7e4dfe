"""Building a report from a case: only actioned cases, viewing flags only from reveals,
classification and generativeAi from the decision, hashes from the item, no content read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from tests.reporting.conftest import (
    CaseFactory,
    MemEvidence,
    case,
    decision,
    item,
    png,
)

from childsafe.errors import ReportingError
from childsafe.reporting.ncmec.from_case import CaseRecord, ReporterConfig, build_package
from childsafe.reporting.ncmec.model import (
    FileAnnotation,
    IncidentType,
    IndustryClassification,
    ReportAnnotation,
    WebPageIncident,
)
from childsafe.reporting.ncmec.xml import render_file_details, render_report
from childsafe.review.base import CaseState, IndustryClass, Outcome, Subject, SubjectKind

ACTOR = "cli:test"


def build(rec: CaseRecord, cfg: ReporterConfig, ev: MemEvidence):  # type: ignore[no-untyped-def]
    return build_package(rec, cfg, ev, actor=ACTOR)


@pytest.mark.parametrize(
    "state", [s for s in CaseState if s is not CaseState.ACTIONED], ids=lambda s: s.value
)
def test_only_actioned_cases_can_be_reported(
    actioned: CaseFactory, reporter_config: ReporterConfig, evidence: MemEvidence, state: CaseState
) -> None:
    rec = actioned(1)
    rec = replace(rec, case=replace(rec.case, state=state))
    with pytest.raises(
        ReportingError, match=f"is {state.value}, not actioned.*triage is not proof"
    ):
        build(rec, reporter_config, evidence)


def test_viewing_flags_come_only_from_reveals(
    actioned: CaseFactory, reporter_config: ReporterConfig, evidence: MemEvidence
) -> None:
    rec = actioned(4, reveals={1: ["file"], 2: ["file", "exif"], 3: ["exif"]})
    # item 4 has file_viewed=True on the item row but no reveal record: not trusted
    items = list(rec.items)
    items[3] = replace(items[3], file_viewed=True, exif_viewed=True)
    pkg = build(replace(rec, items=items), reporter_config, evidence)
    flags = [(f.details.file_viewed_by_esp, f.details.exif_viewed_by_esp) for f in pkg.files]
    assert flags == [(True, False), (True, True), (False, False), (False, False)]
    assert "EXIF metadata of this file was viewed" in (pkg.files[2].details.additional_info or "")
    assert pkg.files[0].details.additional_info is None
    assert evidence.reads == []  # building reads metadata only, never content
    for f in pkg.files:
        raw = render_file_details(replace(f.details, report_id="1", file_id="f"))
        root = ET.fromstring(raw)
        assert root.findtext("fileViewedByEsp") in ("true", "false")  # always written


def test_classification_generative_ai_and_hashes(
    reporter_config: ReporterConfig, evidence: MemEvidence
) -> None:
    data = png(7)
    items = [
        item(
            1,
            data,
            evidence,
            provenance={
                "url": "https://example.org/p/1",
                "ip": "192.0.2.9",
                "port": 5555,
                "filename": "été.png",
            },
        ),
        item(2, png(8), evidence, generative_ai=True),
        item(3, png(9), evidence),
    ]
    decisions = [
        decision(1, industry=IndustryClass.A2),  # case level
        decision(2, item_id=3, outcome=Outcome.NO_VIOLATION, reason="benign_child", industry=None),
        decision(3, item_id=1, industry=IndustryClass.B1, reason="aig_csam"),
    ]
    rec = CaseRecord(case(items=3), items, decisions, {})
    pkg = build(rec, reporter_config, evidence)
    assert [f.planned.item_id for f in pkg.files] == [1, 2]
    assert any("item 3: not decided as a violation" in n for n in pkg.notes)
    one, two = (f.details for f in pkg.files)
    assert one.industry_classification is IndustryClassification.B1  # the item's own decision
    assert two.industry_classification is IndustryClassification.A2  # the case's
    assert one.annotations == {FileAnnotation.GENERATIVE_AI}  # reason aig_csam
    assert two.annotations == {FileAnnotation.GENERATIVE_AI}  # the item is AI-generated
    assert {(h.hash_type, h.value) for h in one.original_file_hashes} == {
        ("MD5", items[0].hashes["md5"]),
        ("SHA256", items[0].hashes["sha256"]),
    }
    assert one.location_of_file == "https://example.org/p/1"
    assert one.original_file_name == "été.png"
    assert one.ip_capture_events[0].port == 5555
    assert pkg.files[0].planned.name == "item-1.png"
    report = pkg.report
    assert report.internet_details == (WebPageIncident(urls=("https://example.org/p/1",)),)
    assert report.person_or_user_reported is not None
    assert report.person_or_user_reported.esp_identifier == "user-42"
    assert report.incident_summary.incident_date_time == items[0].occurred_at
    ET.fromstring(render_report(report))  # valid XML
    assert pkg.files[0].load() == data  # bytes only when asked (at upload)
    assert len(evidence.reads) == 1


@pytest.mark.parametrize(
    "reason, itype, annotations",
    [
        ("csam_known", IncidentType.CHILD_PORNOGRAPHY, set()),
        ("csem_grooming", IncidentType.ONLINE_ENTICEMENT, set()),
        ("csem_sextortion", IncidentType.ONLINE_ENTICEMENT, {ReportAnnotation.SEXTORTION}),
        ("csem_other", IncidentType.CHILD_SEXUAL_MOLESTATION, set()),
    ],
)
def test_incident_type_from_the_reason(
    actioned: CaseFactory,
    reporter_config: ReporterConfig,
    evidence: MemEvidence,
    reason: str,
    itype: IncidentType,
    annotations: set[ReportAnnotation],
) -> None:
    cfg = replace(reporter_config, default_incident_type=IncidentType.CHILD_SEXUAL_MOLESTATION)
    rec = replace(actioned(1), decisions=[decision(1, reason=reason)])
    summary = build(rec, cfg, evidence).report.incident_summary
    assert summary.incident_type is itype and summary.annotations == annotations


def test_items_without_content_are_reported_by_hash(
    reporter_config: ReporterConfig, evidence: MemEvidence
) -> None:
    gone = replace(item(1, None, evidence), hashes={"md5": "0" * 32})
    subject = Subject(SubjectKind.CONVERSATION, "conv-1")
    rec = CaseRecord(case(subject=subject), [gone], [decision(1, reason="csem_grooming")], {})
    pkg = build(rec, reporter_config, evidence)
    assert pkg.files == ()
    assert "md5:" + "0" * 32 in (pkg.report.additional_info or "")
    assert pkg.report.internet_details[0].TAG == "chatImIncident"
    assert pkg.report.person_or_user_reported is None


def test_refusals_name_the_problem(
    actioned: CaseFactory, reporter_config: ReporterConfig, evidence: MemEvidence
) -> None:
    rec = actioned(1)
    with pytest.raises(ReportingError, match="no violation decision"):
        build(
            replace(rec, decisions=[decision(1, outcome=Outcome.NO_VIOLATION)]),
            reporter_config,
            evidence,
        )
    eid = rec.items[0].evidence_id or ""
    evidence.records[eid] = replace(evidence.records[eid], sha256="f" * 64)
    with pytest.raises(ReportingError, match=r"item 1: evidence .* is not the item as received"):
        build(rec, reporter_config, evidence)
    from datetime import UTC, datetime

    evidence.records[eid] = replace(evidence.records[eid], destroyed_at=datetime.now(UTC))
    with pytest.raises(ReportingError, match="was destroyed"):
        build(rec, reporter_config, evidence)


def test_future_item_time_is_clamped_to_now(
    actioned: CaseFactory, reporter_config: ReporterConfig, evidence: MemEvidence
) -> None:
    from datetime import UTC, datetime, timedelta

    rec = actioned(1)
    later = datetime.now(UTC) + timedelta(days=1)
    rec = replace(rec, items=[replace(rec.items[0], occurred_at=later)])
    now = datetime.now(UTC)
    pkg = build_package(rec, reporter_config, evidence, actor=ACTOR, now=now)
    assert pkg.report.incident_summary.incident_date_time == now
    render_report(pkg.report, now=now)
