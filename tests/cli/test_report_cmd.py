"""``childsafe report`` end to end: a real case (review store, encrypted evidence) in the
CLI's SQLite database, filed with the fake CyberTipline, listed, exported, retracted."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from tests.cli.conftest import Run
from tests.fakes.cybertipline import FakeCyberTipline

from childsafe.config import Settings
from childsafe.evidence.base import Purpose
from childsafe.review.base import (
    CasePriority,
    DetectionSource,
    Finding,
    IndustryClass,
    Outcome,
    Role,
    Subject,
    SubjectKind,
)
from childsafe.storage import open_store
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.review import SqlCaseStore

ACTOR = "test:setup"


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (seed, 90, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def fake() -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline() as f:
        yield f


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeCyberTipline) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CHILDSAFE_HOME", str(home))
    monkeypatch.setenv("CHILDSAFE_SECOND_REVIEW", "false")
    monkeypatch.setenv("CHILDSAFE_NCMEC_URL", fake.base_url)
    monkeypatch.setenv("CHILDSAFE_NCMEC_USERNAME", fake.username)
    monkeypatch.setenv("CHILDSAFE_NCMEC_PASSWORD", fake.password)
    home.mkdir(parents=True)
    (home / "reporter.json").write_text(
        json.dumps(
            {
                "first_name": "Rae",
                "last_name": "Porter",
                "email": "trust@example.org",
                "company": "Example Platform",
                "platform": "Example Platform",
            }
        )
    )
    return home


def _case(*, actioned: bool = True, reveal: bool = True) -> int:
    """An actioned case of two uploaded images by user-42, the first one revealed."""
    settings = Settings()
    store = open_store(settings.effective_database_url, settings=settings)
    try:
        audit = SqlAuditLog(store.engine)
        cases = SqlCaseStore(store.engine, audit, settings)
        evidence = SqlEvidenceStore(store.engine, audit, settings)
        cases.add_reviewer("default", "alice", Role.REVIEWER, "pw-alice-0123456789", actor=ACTOR)
        case_id = item_id = 0
        for i in (1, 2):
            data = _png(i)
            rec = evidence.put(
                "default",
                data,
                purpose=Purpose.REVIEW,
                item_ref=f"upload-{i}",
                actor=ACTOR,
                content_type="image/png",
            )
            finding = Finding(
                tenant="default",
                subject=Subject(SubjectKind.USER, "user-42"),
                source=DetectionSource.HASH,
                priority=CasePriority.KNOWN_HASH,
                item_ref=f"upload-{i}",
                kind="image",
                hashes={"md5": rec.md5, "sha256": hashlib.sha256(data).hexdigest()},
                provenance={"ip": "192.0.2.5", "port": 40000 + i},
                occurred_at=datetime.now(UTC) - timedelta(hours=2),
            )
            case, item = cases.add_finding(finding, actor=ACTOR, evidence_id=rec.id)
            case_id = case.id
            item_id = item_id or item.id
        cases.claim("default", case_id, "alice")
        if reveal:
            cases.reveal("default", item_id, "alice", "file")
        if actioned:
            cases.decide(
                "default",
                case_id,
                "alice",
                outcome=Outcome.VIOLATION,
                reason_code="csam_known",
                industry_class=IndustryClass.B2,
            )
        return case_id
    finally:
        store.close()


def test_build_preview_reads_no_content(run: Run, env: Path) -> None:
    case_id = _case()
    res = run("report", "build", str(case_id), "--json")
    assert res.code == 0, res.err
    (preview,) = res.jsonl()
    assert [f["file_viewed_by_esp"] for f in preview["files"]] == [True, False]
    assert [f["exif_viewed_by_esp"] for f in preview["files"]] == [False, False]
    assert {f["industry_classification"] for f in preview["files"]} == {"B2"}
    assert preview["reported_user"] == "user-42"
    xml = run("report", "build", str(case_id), "--xml")
    assert xml.code == 0 and xml.out.count("<fileDetails>") == 2
    assert "<reportId>PENDING</reportId>" in xml.out
    store = open_store(Settings().effective_database_url)
    try:
        reads = [e for e in SqlAuditLog(store.engine).entries() if e.action.endswith("read")]
    finally:
        store.close()
    assert reads == []  # no evidence content was read by a preview


def test_file_list_status_and_file_again(run: Run, env: Path, fake: FakeCyberTipline) -> None:
    case_id = _case()
    res = run("report", "file", str(case_id), "--json")
    assert res.code == 0, res.err
    (out,) = res.jsonl()
    assert out["state"] == "finished" and out["environment"] == "test"
    assert out["evidence_preserved"] == 2
    assert len(fake.finished) == 1
    assert fake.finished[0].id == out["remote_id"]
    again = run("report", "file", str(case_id), "--json")
    assert again.code == 0 and again.jsonl()[0]["id"] == out["id"]
    assert len(fake.reports) == 1  # nothing sent the second time
    # The platform hears of the report once, however often `file` ran.
    events = run("actions", "list", "--json").jsonl()
    filed = [e for e in events if e["kind"] == "report_filed"]
    assert len(filed) == 1 and filed[0]["data"]["report_id"] == out["id"]
    listed = run("report", "list", "--json").jsonl()
    assert [r["id"] for r in listed] == [out["id"]]
    status = run("report", "status", str(out["id"]), "--json").jsonl()[0]
    assert status["state"] == "finished" and all(f["uploaded"] for f in status["files"])
    assert run("report", "status", "--json").jsonl()[0]["ok"] is True
    human = run("report", "list")
    assert "finished" in human.out


def test_unactioned_case_is_refused(run: Run, env: Path, fake: FakeCyberTipline) -> None:
    case_id = _case(actioned=False)
    res = run("report", "file", str(case_id))
    assert res.code == 4
    assert "not actioned" in res.err and "triage is not proof" in res.err
    assert fake.requests == []


def test_wrong_password_is_one_clear_line(
    run: Run, env: Path, fake: FakeCyberTipline, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _case()
    monkeypatch.setenv("CHILDSAFE_NCMEC_PASSWORD", "not-the-password")
    res = run("report", "file", str(case_id))
    assert res.code == 4 and "2000" in res.err and "Traceback" not in res.err
    assert "not-the-password" not in res.err
    failed = run("report", "list", "--state", "failed", "--json").jsonl()
    assert len(failed) == 1 and "2000" in failed[0]["last_error"]


def test_missing_reporter_and_credentials(
    run: Run, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _case()
    (env / "reporter.json").unlink()
    res = run("report", "build", str(case_id))
    assert res.code == 4 and "no reporter file" in res.err
    bad = env / "bad.json"
    bad.write_text('{"first_name": "Rae"}')
    res = run("report", "build", str(case_id), "--reporter", str(bad))
    assert res.code == 4 and "'email' is required" in res.err
    monkeypatch.delenv("CHILDSAFE_NCMEC_PASSWORD")
    res = run("report", "status")
    assert res.code == 4 and "CHILDSAFE_NCMEC_PASSWORD" in res.err


def test_export_for_nca_and_c3p(run: Run, env: Path, tmp_path: Path) -> None:
    case_id = _case()
    out = tmp_path / "exports"
    res = run("report", "export", str(case_id), "--to", "nca", "--out", str(out), "--json")
    assert res.code == 0, res.err
    (rec,) = res.jsonl()
    assert rec["state"] == "exported" and rec["destination"] == "nca"
    doc = json.loads(Path(rec["json"]).read_text())
    assert doc["destination"] == "nca" and len(doc["files"]) == 2
    assert doc["reported_user"]["esp_identifier"] == "user-42"
    rows = list(csv.DictReader(io.StringIO(Path(rec["csv"]).read_text())))
    assert [r["port"] for r in rows] == ["40001", "40002"]
    assert [r["file_viewed_by_esp"] for r in rows] == ["true", "false"]
    assert all(len(r["sha256"]) == 64 and r["ip_address"] == "192.0.2.5" for r in rows)
    again = run("report", "export", str(case_id), "--to", "nca", "--out", str(out), "--json")
    assert again.jsonl()[0]["id"] == rec["id"]  # exporting again is not a second report
    c3p = run("report", "export", str(case_id), "--to", "c3p", "--out", str(out), "--json")
    assert c3p.code == 0 and c3p.jsonl()[0]["id"] != rec["id"]
    assert sorted(p.name for p in out.iterdir()) == [
        f"c3p-default-case{case_id}.csv",
        f"c3p-default-case{case_id}.json",
        f"nca-default-case{case_id}.csv",
        f"nca-default-case{case_id}.json",
    ]


def test_retract_an_unfinished_report(run: Run, env: Path, fake: FakeCyberTipline) -> None:
    case_id = _case()
    fake.fail_next_code(4100, 1)  # refuse the submit: the report is failed, never submitted
    assert run("report", "file", str(case_id)).code == 4
    (rep,) = run("report", "list", "--json").jsonl()
    res = run("report", "retract", str(rep["id"]), "--json")
    assert res.code == 0 and res.jsonl()[0]["outcome"] == "retracted"
    assert run("report", "retract", str(rep["id"])).code == 4
    assert run("report", "status", "999").code == 4
