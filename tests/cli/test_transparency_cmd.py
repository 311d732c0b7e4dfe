"""``childsafe transparency`` and ``childsafe actions`` end to end on the real stores."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.cli.conftest import Run
from tests.fakes.platform_webhook import FakePlatform

from childsafe.actions.events import actioned_events, restore_event
from childsafe.actions.reupload import ReuploadGuard
from childsafe.config import Settings
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
from childsafe.storage.actions import SqlHashLedger, SqlOutbox
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.review import SqlCaseStore

TODAY = datetime.now(UTC).date()
SINCE, UNTIL = str(TODAY - timedelta(days=1)), str(TODAY + timedelta(days=2))


def _finding(n: int, source: DetectionSource, subject: Subject) -> Finding:
    return Finding(
        tenant="default",
        subject=subject,
        source=source,
        priority=CasePriority.KNOWN_HASH,
        item_ref=f"upload-{n}",
        kind="image",
        hashes={"md5": f"{n:02x}" * 16, "sha256": f"{n:02x}" * 32},
    )


@pytest.fixture
def history(run: Run, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Three cases: one actioned by hash (user u1), one actioned from a user report and
    then restored on appeal (user u2), one found not violating. Each actioned case queues
    its takedown (and suspension) events; the restored one a restore event."""
    monkeypatch.setenv("CHILDSAFE_SECOND_REVIEW", "false")
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.effective_database_url, settings=settings)
    audit = SqlAuditLog(store.engine)
    cases = SqlCaseStore(store.engine, audit, settings)
    outbox = SqlOutbox(store.engine, audit)
    guard = ReuploadGuard(store, SqlHashLedger(store.engine, audit), cases)
    cases.add_reviewer("default", "alice", Role.REVIEWER, "pw-0123456789", actor="test")
    cases.add_reviewer("default", "lead", Role.LEAD, "pw-0123456789", actor="test")
    specs = [
        (1, DetectionSource.HASH, "u1", Outcome.VIOLATION),
        (2, DetectionSource.USER_REPORT, "u2", Outcome.VIOLATION),
        (3, DetectionSource.CLASSIFIER, "u3", Outcome.NO_VIOLATION),
    ]
    for n, source, who, outcome in specs:
        case, _ = cases.add_finding(
            _finding(n, source, Subject(SubjectKind.USER, who)), actor="test"
        )
        cases.claim("default", case.id, "alice")
        reason = "csam_known" if outcome is Outcome.VIOLATION else "benign_child"
        klass = IndustryClass.A1 if outcome is Outcome.VIOLATION else None
        done = cases.decide(
            "default",
            case.id,
            "alice",
            outcome=outcome,
            reason_code=reason,
            industry_class=klass,
        )
        if outcome is Outcome.VIOLATION:
            for event in actioned_events(done, cases.items("default", case.id)):
                outbox.enqueue(event)
            guard.confirm("default", case.id)
        if n == 2:
            appeal = cases.file_appeal("default", case.id, filed_by="u2")
            cases.decide_appeal("default", appeal.id, "lead", restore=True)
            outbox.enqueue(restore_event(cases.get("default", case.id), appeal.id))
            guard.restore("default", case.id)
    store.close()
    yield settings


def test_transparency_json_figures(run: Run, history: Settings, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    items = {"total": 40, "quarantined": 3, "error": 1}
    summary.write_text(json.dumps({"format": "childsafe-scan-summary/1", "items": items}))
    res = run("transparency", "--since", SINCE, "--until", UNTIL, "--scan-summary", str(summary))
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    o = doc["outcomes"]
    assert (o["cases_opened"], o["cases_actioned"], o["content_actioned"]) == (3, 2, 2)
    assert o["accounts_actioned"] == 2
    assert o["detection_sources"]["hash"] == 1 and o["detection_sources"]["user_report"] == 1
    assert o["proactive_rate"] == 0.5
    assert (o["appeals_filed"], o["appeals_restored"], o["appeals_upheld"]) == (1, 1, 0)
    assert o["hashes_contributed"] == 4  # md5 + sha256 of both actioned items
    assert o["reports_filed"] == 0 and o["files_reported"] == 0
    assert (o["dataset_items_scanned"], o["dataset_items_removed"]) == (40, 3)
    assert o["time_to_action_median_s"] >= 0
    pp = doc["processes_and_systems"]
    assert pp["second_review"] is False
    assert any("confirmed" in m for m in pp["detection_methods"])
    assert "not the prevalence" in doc["caveats"][0]


def test_transparency_csv_and_html_files(run: Run, history: Settings, tmp_path: Path) -> None:
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "deep" / "r.html"
    args = ("transparency", "--since", SINCE, "--until", UNTIL)
    assert run(*args, "--format", "csv", "--out", str(out_csv)).code == 0
    rows = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(out_csv.read_text()))}
    assert rows["cases_actioned"] == "2" and rows["appeals_restored"] == "1"
    res = run(*args, "--format", "html", "--out", str(out_html))
    assert res.code == 0 and "wrote" in res.err
    html = out_html.read_text()
    assert "Processes &amp; Systems" in html and "https:" not in html
    # an earlier period has nothing in it
    old = run("transparency", "--since", "2020-01-01", "--until", "2020-02-01")
    assert json.loads(old.out)["outcomes"]["cases_actioned"] == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--since", "2026-02-01", "--until", "2026-01-01"), 2, "must be after"),
        (("--since", "yesterday", "--until", "2026-01-01"), 2, "yesterday"),
        (
            ("--since", "2026-01-01", "--until", "2026-02-01", "--scan-summary", "nope.json"),
            4,
            "nope.json",
        ),
        (
            ("--since", "2026-01-01", "--until", "2026-02-01", "--tenant", "Bad Name!"),
            4,
            "bad tenant",
        ),
    ],
)
def test_transparency_bad_input_is_a_clear_error(
    run: Run, args: tuple[str, ...], code: int, message: str
) -> None:
    res = run("transparency", *args)
    assert res.code == code
    assert message in res.err and "Traceback" not in res.err


def test_actions_deliver_list_dead_letters_retry(
    run: Run, history: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = run("actions", "list", "--json").jsonl()
    kinds = sorted(str(e["kind"]) for e in listed)
    assert kinds == ["restore", "suspend_account", "suspend_account", "takedown", "takedown"]
    assert run("actions", "deliver").code == 4  # no URL configured: a clear failure
    with FakePlatform("whsec-cli-0123456789") as platform:
        monkeypatch.setenv("CHILDSAFE_WEBHOOK_URL", platform.url)
        monkeypatch.setenv("CHILDSAFE_WEBHOOK_SECRET", "wrong-secret")
        res = run("actions", "deliver", "--json")
        assert res.code == 3 and res.jsonl()[0]["dead"] == 5  # refused: straight to dead
        dead = run("actions", "dead-letters", "--json").jsonl()
        assert len(dead) == 5 and all("HTTP 400" in str(e["last_error"]) for e in dead)
        monkeypatch.setenv("CHILDSAFE_WEBHOOK_SECRET", "whsec-cli-0123456789")
        for e in dead:
            assert run("actions", "retry", str(e["id"])).code == 0
        res = run("actions", "deliver", "--json")
        assert res.code == 0 and res.jsonl()[0]["delivered"] == 5
        assert len(platform.events) == 5
    assert run("actions", "dead-letters", "--json").jsonl() == []
    again = run("actions", "retry", str(dead[0]["id"]))
    assert again.code == 4 and "delivered already" in again.err
    assert run("actions", "retry", "9999").code == 4


def test_actions_export_hashes(run: Run, history: Settings, tmp_path: Path) -> None:
    out = tmp_path / "confirmed.csv"
    res = run("actions", "export-hashes", "--out", str(out), "--collab", "Example")
    assert res.code == 0 and "exported 2 hashes" in res.err
    lines = out.read_text().splitlines()
    assert lines[0] == "signal_type,signal_str,collab,category,tags"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["md5", "sha256"]
    assert all(line.endswith(",Example,POSITIVE_CLASS,A1") for line in lines[1:])
    missing = run("actions", "export-hashes", "--out", "-", "--tenant", "nobody")
    assert missing.code == 4 and "confirmed" in missing.err


def test_actions_sync_bank_catches_up_actioned_cases(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision committed without its bank step (a crash) is caught up, once."""
    home = tmp_path / "home"
    settings = Settings(home=home, second_review=False)
    home.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.effective_database_url, settings=settings)
    try:
        cases = SqlCaseStore(store.engine, SqlAuditLog(store.engine), settings)
        cases.add_reviewer("default", "alice", Role.REVIEWER, "pw-0123456789", actor="test")
        case, _ = cases.add_finding(
            _finding(7, DetectionSource.HASH, Subject(SubjectKind.USER, "u7")), actor="test"
        )
        cases.claim("default", case.id, "alice")
        cases.decide(
            "default",
            case.id,
            "alice",
            outcome=Outcome.VIOLATION,
            reason_code="csam_known",
            industry_class=IndustryClass.A1,
        )
    finally:
        store.close()
    monkeypatch.setenv("CHILDSAFE_SECOND_REVIEW", "false")
    first = run("actions", "sync-bank", "--json")
    assert first.code == 0, first.err
    (out,) = first.jsonl()
    assert out["actioned_cases"] == 1 and out["confirmed_hashes"] > 0
    again = run("actions", "sync-bank", "--json").jsonl()[0]
    assert again["confirmed_hashes"] == out["confirmed_hashes"]
