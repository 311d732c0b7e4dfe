"""The Safety by Design self-assessment: statuses only from evidence, reports to publish."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from childsafe.assess.sbd import (
    PRINCIPLES,
    STATUSES,
    AssessmentRecord,
    BankRecord,
    Evidence,
    ScanRecord,
    evaluate,
    load_assessment,
    load_scan,
    render_html,
    render_markdown,
    write_report,
)
from childsafe.errors import AssessError

SCAN = ScanRecord("scan1", 1000, 3, 1, ("demo",), ("image_risk",), "2025-01-01T00:00:00+00:00")
RUN = AssessmentRecord(
    "run1", "probe_run", "m (core v1)", finished=True, scored=True, model_card=True,
    grade="good", unsafe_rate=0.02, over_refusal=0.05,
)  # fmt: skip
RUN2 = replace(RUN, path="run2", name="m2 (core v1)")
MODEL_SCAN = AssessmentRecord(
    "ms.json", "model_scan", "hub.jsonl", finished=True, scored=True, models_scanned=40
)
FULL = Evidence(
    scans=(SCAN,),
    assessments=(RUN, RUN2, MODEL_SCAN),
    banks=(BankRecord("default/demo", 3, 120),),
    active_policies=1,
    decisions={"allow": 900, "block": 4, "review": 12},
    reviewers=3,
    second_review=True,
    reporting_configured=True,
    reporting_environment="production",
    provenance_configured=True,
    actions_configured=True,
    retention_days=365,
)


def _status(evidence: Evidence) -> dict[str, str]:
    return {i.id: i.status for i in evaluate(evidence).items}


def test_nothing_recorded_is_never_met() -> None:
    report = evaluate(Evidence())
    assert len(report.items) == len(PRINCIPLES) == 9
    assert {i.stage for i in report.items} == {"Develop", "Deploy", "Maintain"}
    assert all(i.status in STATUSES for i in report.items)
    assert not [i for i in report.items if i.status == "met"]
    status = {i.id: i.status for i in report.items}
    assert status["develop.1"] == "unknown"  # no record is not a failure
    assert status["develop.3"] == "not_met"  # provenance keys absent: childsafe knows
    assert status["deploy.4"] == "unknown"  # the database was not read
    assert status["maintain.9"] == "not_met"
    assert all(i.gaps for i in report.items if i.status != "met")


def test_full_evidence_meets_all_but_research() -> None:
    report = evaluate(FULL)
    status = {i.id: i.status for i in report.items}
    assert status == {**{pid: "met" for pid, *_ in PRINCIPLES}, "maintain.8": "unknown"}
    text = {i.id: " ".join(i.evidence) for i in report.items}
    assert "1000 items, 3 quarantined" in text["develop.1"] and "demo" in text["develop.1"]
    assert "grade good" in text["develop.2"] and "unsafe rate 2.00%" in text["develop.2"]
    assert "default/demo v3 (120)" in text["deploy.4"] and "916 screening" in text["deploy.4"]
    assert "40 models" in text["deploy.5"]
    assert "3 reviewer" in text["maintain.9"] and "production" in text["maintain.9"]
    assert all(i.evidence for i in report.items if i.status == "met")


@pytest.mark.parametrize(
    ("change", "item", "expected"),
    [
        ({"scans": (replace(SCAN, banks=()),)}, "develop.1", "partial"),
        ({"scans": (replace(SCAN, items=0),)}, "develop.1", "unknown"),
        ({"assessments": (replace(RUN, scored=False),)}, "develop.2", "partial"),
        ({"assessments": (replace(RUN, finished=False),)}, "develop.2", "partial"),
        ({"assessments": (RUN,)}, "deploy.5", "partial"),
        ({"assessments": (replace(RUN, model_card=False),)}, "deploy.6", "partial"),
        ({"decisions": {}}, "deploy.4", "partial"),
        ({"decisions": {}, "banks": ()}, "deploy.4", "partial"),  # a policy is active
        ({"decisions": {}, "banks": (), "active_policies": 0}, "deploy.4", "not_met"),
        ({"banks": None}, "deploy.4", "unknown"),
        ({"actions_configured": False}, "maintain.7", "partial"),
        ({"actions_configured": False, "assessments": (RUN,)}, "maintain.7", "unknown"),
        ({"reporting_environment": "test"}, "maintain.9", "partial"),
        ({"retention_days": 30}, "maintain.9", "partial"),
        ({"reviewers": 0}, "maintain.9", "partial"),
        ({"reviewers": None}, "maintain.9", "partial"),
        ({"reporting_configured": False, "reviewers": 0}, "maintain.9", "not_met"),
        ({"provenance_configured": False}, "develop.3", "not_met"),
    ],
)
def test_each_gap_moves_one_item_down(change: dict[str, object], item: str, expected: str) -> None:
    assert _status(replace(FULL, **change))[item] == expected  # type: ignore[arg-type]


def test_flagged_models_without_takedown_are_partial() -> None:
    flagged = replace(MODEL_SCAN, models_flagged=2)
    ev = replace(FULL, assessments=(RUN, flagged), actions_configured=False)
    item = next(i for i in evaluate(ev).items if i.id == "deploy.5")
    assert item.status == "partial" and "2 flagged model(s)" in item.gaps[0]


def test_load_scan_and_bad_scan_dirs(tmp_path: Path) -> None:
    out = tmp_path / "scan"
    out.mkdir()
    (out / "summary.json").write_text(
        json.dumps(
            {
                "format": "childsafe-scan-summary/1",
                "items": {"total": 7, "quarantined": 2, "error": 1},
                "reproducibility": {
                    "banks": [{"name": "demo", "version": 1}],
                    "models": [{"name": "nsfw", "version": "1"}],
                },
                "timing": {"finished_at": "2025-01-01T00:00:00+00:00"},
            }
        )
    )
    rec = load_scan(out)
    assert (rec.items, rec.quarantined, rec.errors, rec.banks, rec.classifiers) == (
        7,
        2,
        1,
        ("demo",),
        ("nsfw",),
    )
    with pytest.raises(AssessError, match=r"summary\.json"):
        load_scan(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("[1]")
    with pytest.raises(AssessError, match="JSON object"):
        load_scan(tmp_path / "bad")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "summary.json").write_text('{"items": 3}')
    with pytest.raises(AssessError, match="not a childsafe scan summary"):
        load_scan(tmp_path / "other")


def test_load_assessment_run_and_model_scan(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(
        json.dumps(
            {
                "format": 1,
                "run_id": "r1",
                "suite": {"name": "core", "version": "1", "probes": 120},
                "target": {"name": "openai", "model": "tiny"},
                "started_at": "2025-01-01T00:00:00+00:00",
                "finished_at": None,
            }
        )
    )
    unfinished = load_assessment(run)
    assert unfinished.kind == "probe_run" and unfinished.name == "tiny (core v1)"
    assert not unfinished.finished and not unfinished.scored
    doc = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**doc, "finished_at": "2025-01-01T01:00:00Z"}))
    (run / "report.json").write_text(
        json.dumps({"grade": {"grade": "very good", "unsafe_rate": 0.004, "over_refusal": 0.1}})
    )
    (run / "model_card.md").write_text("## Child safety\n")
    rec = load_assessment(run)
    assert rec.finished and rec.scored and rec.model_card
    assert (rec.grade, rec.unsafe_rate, rec.over_refusal) == ("very good", 0.004, 0.1)
    scan = tmp_path / "ms.json"
    scan.write_text(
        json.dumps(
            {
                "format": "childsafe-model-scan/1",
                "source": "hub.jsonl",
                "counts": {"total": 5, "flagged": 2},
            }
        )
    )
    ms = load_assessment(scan)
    assert (ms.kind, ms.models_scanned, ms.models_flagged) == ("model_scan", 5, 2)
    folder = tmp_path / "scan_dir"
    folder.mkdir()
    (folder / "model_scan.json").write_text(scan.read_text())
    assert load_assessment(folder).models_scanned == 5
    with pytest.raises(AssessError, match="neither a run folder"):
        load_assessment(tmp_path / "nothing")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(AssessError, match="not childsafe-model-scan/1"):
        load_assessment(tmp_path / "other.json")


def test_reports_are_self_contained_and_escaped(tmp_path: Path) -> None:
    hostile = replace(RUN, name='<script>alert(1)</script> "m" & co')
    report = evaluate(replace(FULL, assessments=(hostile, MODEL_SCAN), problems=("db: <x>",)))
    page = render_html(report)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and " src=" not in page
    for pid, *_ in PRINCIPLES:
        assert pid in page
    md = render_markdown(report)
    assert md.count("### ") == 9 and "## Develop" in md and "## Maintain" in md
    assert "db: <x>" in md  # problems are listed, never hidden
    paths = write_report(report, tmp_path / "out" / "sbd")
    assert sorted(p.name for p in paths.values()) == ["sbd.html", "sbd.json", "sbd.md"]
    doc = json.loads(paths["json"].read_text())
    assert doc["counts"] == report.counts() and len(doc["items"]) == 9
    assert doc["evidence"]["collected_at"] == report.evidence.collected_at.isoformat()
    assert not list((tmp_path / "out" / "sbd").glob("*.tmp"))
