"""``SqlReportStore`` on SQLite and PostgreSQL: one live report per case, forward-only
states, leases, exports, and an audit entry for every change."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from childsafe.errors import ReportingError
from childsafe.reporting.base import Destination, ReportState
from childsafe.reporting.ledger import PlannedFile
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.models_reporting import reports
from childsafe.storage.reporting import ReportNotFound, SqlReportStore

FILES = [
    PlannedFile(10, "item-10.png", "ev_a", 100, "a" * 32, "b" * 64),
    PlannedFile(11, "item-11.png", "ev_b", 200, "c" * 32, "d" * 64),
]
ACTOR = "cli:test"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rs(store: SqlBankStore, clock: Clock) -> SqlReportStore:
    return SqlReportStore(store.engine, SqlAuditLog(store.engine), clock=clock)


def actions(rs: SqlReportStore, report_id: int) -> list[str]:
    entries = rs.audit.entries("default", target_type="report", target_id=str(report_id))
    return [e.action for e in entries]


def test_open_is_idempotent_per_case_destination_environment(rs: SqlReportStore) -> None:
    a = rs.open("default", 1, Destination.NCMEC, "test", FILES, actor=ACTOR)
    b = rs.open("default", 1, Destination.NCMEC, "test", FILES, actor=ACTOR)
    assert a.id == b.id and a.state is ReportState.DRAFT and a.file_count == 2
    other_env = rs.open("default", 1, Destination.NCMEC, "production", FILES, actor=ACTOR)
    other_case = rs.open("default", 2, Destination.NCMEC, "test", [], actor=ACTOR)
    other_tenant = rs.open("acme", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    assert len({a.id, other_env.id, other_case.id, other_tenant.id}) == 4
    assert actions(rs, a.id) == ["report.create"]
    files = rs.progress("default", a.id).files
    assert [(f.seq, f.item_id, f.name) for f in files] == [
        (0, 10, "item-10.png"),
        (1, 11, "item-11.png"),
    ]


def test_the_database_refuses_a_second_live_report(rs: SqlReportStore, clock: Clock) -> None:
    a = rs.open("default", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    row = {
        "tenant": "default",
        "case_id": 1,
        "destination": "ncmec",
        "environment": "test",
        "state": "failed",
        "file_count": 0,
        "created_at": clock.now,
        "updated_at": clock.now,
    }
    with pytest.raises(IntegrityError), rs.engine.begin() as conn:
        conn.execute(insert(reports).values(**row))
    rs.set_retracted("default", a.id, actor=ACTOR, reason="test")
    b = rs.open("default", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    assert b.id != a.id and b.state is ReportState.DRAFT
    assert [r.id for r in rs.for_case("default", 1)] == [a.id, b.id]


def test_the_whole_flow_is_audited_step_by_step(rs: SqlReportStore, clock: Clock) -> None:
    r = rs.open("default", 1, Destination.NCMEC, "test", FILES, actor=ACTOR)
    rs.set_submitted("default", r.id, "880001", actor=ACTOR)
    for seq in (0, 1):
        rs.record_upload("default", r.id, seq, f"file-{seq}", "A" * 32, actor=ACTOR)
        rs.record_details("default", r.id, seq, actor=ACTOR)
    rs.set_files_uploaded("default", r.id, actor=ACTOR)
    rs.mark_finish_attempt("default", r.id, actor=ACTOR)
    clock.now += timedelta(minutes=1)
    done = rs.set_finished("default", r.id, actor=ACTOR, how="finish")
    assert done.state is ReportState.FINISHED and done.remote_id == "880001"
    assert done.finished_at == clock.now
    prog = rs.progress("default", r.id)
    assert prog.finish_attempted_at is not None
    assert [(f.remote_file_id, f.remote_md5) for f in prog.files] == [
        ("file-0", "a" * 32),
        ("file-1", "a" * 32),
    ]
    assert actions(rs, r.id) == [
        "report.create",
        "report.submit",
        "report.upload",
        "report.fileinfo",
        "report.upload",
        "report.fileinfo",
        "report.files_uploaded",
        "report.finish_attempt",
        "report.finish",
    ]
    entry = rs.audit.entries("default", target_id=str(r.id))[-1]
    assert entry.details == {"case_id": 1, "destination": "ncmec", "how": "finish"}
    assert rs.audit.verify().ok


def test_states_only_move_forward(rs: SqlReportStore) -> None:
    r = rs.open("default", 1, Destination.NCMEC, "test", FILES, actor=ACTOR)
    with pytest.raises(ReportingError, match=f"report {r.id} is draft and not submitted"):
        rs.set_finished("default", r.id, actor=ACTOR, how="finish")
    with pytest.raises(ReportingError, match="is draft"):
        rs.record_upload("default", r.id, 0, "f", "a" * 32, actor=ACTOR)
    rs.set_submitted("default", r.id, "880001", actor=ACTOR)
    with pytest.raises(ReportingError, match="file #0 is not uploaded"):
        rs.set_files_uploaded("default", r.id, actor=ACTOR)
    with pytest.raises(ReportingError, match="has no file #7"):
        rs.record_upload("default", r.id, 7, "f", "a" * 32, actor=ACTOR)
    with pytest.raises(ReportingError, match="is submitted"):
        rs.set_submitted("default", r.id, "880002", actor=ACTOR)
    failed = rs.set_failed("default", r.id, "network down", actor=ACTOR)
    assert failed.state is ReportState.FAILED and failed.last_error == "network down"
    assert failed.remote_id == "880001"  # kept for the retry
    rs.set_finished("default", r.id, actor=ACTOR, how="already_finished")
    for change in (
        lambda: rs.set_failed("default", r.id, "x", actor=ACTOR),
        lambda: rs.set_retracted("default", r.id, actor=ACTOR, reason="x"),
    ):
        with pytest.raises(ReportingError, match="is finished"):
            change()
    assert rs.get("default", r.id).state is ReportState.FINISHED
    assert actions(rs, r.id).count("report.finish") == 1


def test_tenants_are_isolated(rs: SqlReportStore) -> None:
    r = rs.open("default", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    with pytest.raises(ReportNotFound, match="tenant 'acme' has no report"):
        rs.get("acme", r.id)
    with pytest.raises(ReportNotFound):
        rs.set_retracted("acme", r.id, actor=ACTOR, reason="x")
    assert rs.for_case("acme", 1) == []
    with pytest.raises(ReportingError, match="bad tenant name"):
        rs.open("Bad Tenant", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    with pytest.raises(ReportingError, match="unknown report environment"):
        rs.open("default", 1, Destination.NCMEC, "staging", [], actor=ACTOR)


def test_lease_keeps_a_second_filer_out_until_it_expires(rs: SqlReportStore, clock: Clock) -> None:
    r = rs.open("default", 1, Destination.NCMEC, "test", [], actor=ACTOR)
    assert rs.acquire("default", r.id, "a", lease_s=60)
    assert rs.acquire("default", r.id, "a", lease_s=60)  # re-entrant for its owner
    assert not rs.acquire("default", r.id, "b", lease_s=60)
    clock.now += timedelta(seconds=61)  # a crashed owner's lease runs out
    assert rs.acquire("default", r.id, "b", lease_s=60)
    rs.release("default", r.id, "a")  # not a's any more: no effect
    assert not rs.acquire("default", r.id, "c", lease_s=60)
    rs.release("default", r.id, "b")
    assert rs.acquire("default", r.id, "c", lease_s=60)
    with pytest.raises(ReportNotFound):
        rs.acquire("default", 99999, "c", lease_s=60)


def test_list_windows_and_state(rs: SqlReportStore, clock: Clock) -> None:
    ids = []
    for case_id in (1, 2, 3):
        ids.append(rs.open("default", case_id, Destination.NCMEC, "test", [], actor=ACTOR).id)
        clock.now += timedelta(hours=1)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert [r.id for r in rs.list("default")] == ids
    got = rs.list("default", since=start + timedelta(hours=1), until=start + timedelta(hours=2))
    assert [r.id for r in got] == [ids[1]]
    rs.set_retracted("default", ids[2], actor=ACTOR, reason="x")
    assert [r.id for r in rs.list("default", state=ReportState.RETRACTED)] == [ids[2]]
    assert rs.list("acme") == []


def test_exports_are_one_report_per_case_and_destination(rs: SqlReportStore) -> None:
    a = rs.record_export("default", 1, Destination.C3P, FILES, "/out/a.json", actor=ACTOR)
    assert a.state is ReportState.EXPORTED and a.environment == "export"
    b = rs.record_export("default", 1, Destination.C3P, FILES[:1], "/out/b.json", actor=ACTOR)
    assert b.id == a.id and b.file_count == 1
    assert rs.progress("default", a.id).export_path == "/out/b.json"
    c = rs.record_export("default", 1, Destination.NCA, FILES, "/out/c.json", actor=ACTOR)
    assert c.id != a.id
    with pytest.raises(ReportingError, match="through the API"):
        rs.record_export("default", 1, Destination.NCMEC, FILES, "/x", actor=ACTOR)
    with pytest.raises(ReportingError, match="is exported"):
        rs.set_failed("default", a.id, "x", actor=ACTOR)
    assert actions(rs, a.id) == ["report.export", "report.export"]


def test_malformed_hashes_are_refused(rs: SqlReportStore) -> None:
    bad = [PlannedFile(1, "x", None, 1, "short", "b" * 64)]
    with pytest.raises(ReportingError, match="md5/sha256 malformed"):
        rs.open("default", 1, Destination.NCMEC, "test", bad, actor=ACTOR)
    assert rs.for_case("default", 1) == []  # nothing half-written


def test_concurrent_opens_make_one_report(store: SqlBankStore) -> None:
    rs = SqlReportStore(store.engine, SqlAuditLog(store.engine))
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        try:
            got.append(rs.open("default", 5, Destination.NCMEC, "test", FILES, actor=ACTOR).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(set(got)) == 1 and len(got) == 6
    assert len(rs.for_case("default", 5)) == 1
    assert actions(rs, got[0]) == ["report.create"]
