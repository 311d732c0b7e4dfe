"""Filing against the fake CyberTipline with the real report store (SQLite and PostgreSQL):
the happy path, crashes between any two steps and resume, a lost finish answer, errors.

The invariant every test checks: NCMEC ends with at most one *finished* report per case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from tests.fakes.cybertipline import FakeCyberTipline
from tests.reporting.conftest import CaseFactory, MemEvidence

from childsafe.errors import ReportingError, ReportRejected
from childsafe.reporting.base import Destination, ReportState
from childsafe.reporting.ncmec.client import CyberTiplineClient, Finished, Uploaded
from childsafe.reporting.ncmec.filing import file_report, retract_report
from childsafe.reporting.ncmec.from_case import ReporterConfig, build_package
from childsafe.reporting.ncmec.model import Report
from childsafe.reporting.ncmec.package import ReportPackage
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.reporting import SqlReportStore

ACTOR = "cli:test"


class Crash(BaseException):
    """Stands for the process dying: nothing in the flow catches it."""


class CrashingClient(CyberTiplineClient):
    """Dies at the ``n``-th call of ``step``, ``before`` sending it or ``after`` NCMEC answered."""

    def __init__(self, *args: Any, step: str, when: str, n: int = 1, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.step, self.when, self.left = step, when, n

    def _maybe(self, step: str, call: Any) -> Any:
        if step != self.step:
            return call()
        self.left -= 1
        if self.left > 0:
            return call()
        if self.when == "before":
            raise Crash(step)
        call()
        raise Crash(step)

    def submit(self, report: Report) -> str:
        return self._maybe("submit", lambda: super(CrashingClient, self).submit(report))  # type: ignore[no-any-return]

    def upload(self, report_id: str, name: str, data: bytes) -> Uploaded:
        return self._maybe(  # type: ignore[no-any-return]
            "upload", lambda: super(CrashingClient, self).upload(report_id, name, data)
        )

    def finish(self, report_id: str) -> Finished:
        return self._maybe("finish", lambda: super(CrashingClient, self).finish(report_id))  # type: ignore[no-any-return]


def _kw(fake: FakeCyberTipline) -> dict[str, Any]:
    return {"base_url": fake.base_url, "backoff_s": 0, "sleep": lambda _s: None, "timeout_s": 5}


@pytest.fixture
def ledger(store: SqlBankStore) -> SqlReportStore:
    return SqlReportStore(store.engine, SqlAuditLog(store.engine))


@pytest.fixture
def package(
    actioned: CaseFactory, reporter_config: ReporterConfig, evidence: MemEvidence
) -> ReportPackage:
    rec = actioned(2, reveals={1: ["file", "exif"]})
    return build_package(rec, reporter_config, evidence, actor=ACTOR)


@pytest.fixture
def crashing(fake: FakeCyberTipline) -> Iterator[Any]:
    made: list[CrashingClient] = []

    def make(step: str, when: str, n: int = 1) -> CrashingClient:
        c = CrashingClient(fake.username, fake.password, step=step, when=when, n=n, **_kw(fake))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def _one_finished(fake: FakeCyberTipline) -> None:
    assert len(fake.finished) == 1, [r.id for r in fake.finished]


def test_happy_path(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    evidence: MemEvidence,
) -> None:
    result = file_report(ledger, client, package, actor=ACTOR)
    rep = result.report
    assert rep.state is ReportState.FINISHED and not result.already_finished
    _one_finished(fake)
    remote = fake.reports[rep.remote_id or ""]
    assert len(remote.files) == 2 and len(evidence.reads) == 2
    details = [f["details"] for f in remote.files.values()]
    assert [d["fileViewedByEsp"] for d in details] == ["true", "false"]
    assert [d["exifViewedByEsp"] for d in details] == ["true", "false"]
    assert all(d["reportId"] == rep.remote_id for d in details)
    prog = ledger.progress("default", rep.id)
    assert all(f.remote_file_id and f.details_sent_at for f in prog.files)
    assert [f.remote_md5 for f in prog.files] == [f.md5 for f in prog.files]
    # filing again changes nothing and sends nothing
    sent = len(fake.requests)
    again = file_report(ledger, client, package, actor=ACTOR)
    assert again.report.id == rep.id and again.report.state is ReportState.FINISHED
    assert len(fake.requests) == sent


@pytest.mark.parametrize(
    "step, when, n",
    [
        ("submit", "after", 1),  # NCMEC opened a report whose id we never saved
        ("upload", "before", 2),  # died between the two uploads
        ("upload", "after", 1),  # file uploaded, its id not saved
        ("finish", "before", 1),  # finish noted as attempted, never sent
        ("finish", "after", 1),  # NCMEC finished, we never heard
    ],
)
def test_crash_at_any_step_then_resume_files_exactly_once(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    crashing: Any,
    step: str,
    when: str,
    n: int,
) -> None:
    with pytest.raises(Crash):
        file_report(ledger, crashing(step, when, n), package, actor=ACTOR)
    assert fake.finished == [] or (step, when) == ("finish", "after")
    result = file_report(ledger, client, package, actor=ACTOR)
    assert result.report.state is ReportState.FINISHED
    _one_finished(fake)
    finished = fake.finished[0]
    assert {f["name"] for f in finished.files.values()} == {"item-1.png", "item-2.png"}
    assert sum(1 for f in finished.files.values() if f["details"]) == 2
    live = [r for r in ledger.for_case("default", 1) if r.state is not ReportState.RETRACTED]
    assert [r.id for r in live] == [result.report.id]
    if (step, when) == ("finish", "after"):
        assert result.already_finished and len(fake.reports) == 1
    if (step, when) == ("finish", "before"):
        # the unfinished attempt was retracted and a new report filed
        assert len(result.restarted) == 1
        assert fake.reports[result.restarted[0]].retracted
    if (step, when) == ("submit", "after"):
        assert len(fake.reports) == 2  # an orphan NCMEC deletes after an hour, never finished


def test_lost_finish_response_never_files_a_second_report(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
) -> None:
    fake.lose_finish_responses = 1
    result = file_report(ledger, client, package, actor=ACTOR)
    assert result.report.state is ReportState.FINISHED and result.already_finished
    assert len(fake.reports) == 1
    _one_finished(fake)
    entries = ledger.audit.entries("default", target_id=str(result.report.id))
    assert entries[-1].details["how"] == "already_finished"


def test_wrong_password_fails_cleanly_and_can_be_retried(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
) -> None:
    with (
        CyberTiplineClient(fake.username, "wrong", **_kw(fake)) as bad,
        pytest.raises(ReportRejected) as info,
    ):
        file_report(ledger, bad, package, actor=ACTOR)
    assert info.value.code == 2000
    (rep,) = ledger.for_case("default", 1)
    assert rep.state is ReportState.FAILED and "2000" in (rep.last_error or "")
    assert "wrong" not in (rep.last_error or "").replace("wrong-", "")
    assert fake.reports == {}
    result = file_report(ledger, client, package, actor=ACTOR)
    assert result.report.id == rep.id and result.report.state is ReportState.FINISHED
    assert result.report.last_error is None
    _one_finished(fake)


@pytest.mark.parametrize("code", [3000, 4100])
def test_rejections_mark_failed_then_resume(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    code: int,
) -> None:
    fake.fail_next_code(code, 1)  # the first call of the flow (submit) is rejected
    with pytest.raises(ReportRejected) as info:
        file_report(ledger, client, package, actor=ACTOR)
    assert info.value.code == code
    assert ledger.for_case("default", 1)[0].state is ReportState.FAILED
    assert file_report(ledger, client, package, actor=ACTOR).report.state is ReportState.FINISHED
    _one_finished(fake)


def test_expired_remote_report_is_filed_again(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    crashing: Any,
) -> None:
    with pytest.raises(Crash):
        file_report(ledger, crashing("upload", "before", 2), package, actor=ACTOR)
    first = ledger.for_case("default", 1)[0]
    del fake.reports[first.remote_id or ""]  # NCMEC deleted it after an hour unchanged
    result = file_report(ledger, client, package, actor=ACTOR)
    assert result.restarted == (first.remote_id,)
    assert ledger.get("default", first.id).state is ReportState.RETRACTED
    assert result.report.id != first.id
    _one_finished(fake)


def test_second_filer_is_kept_out_by_the_lease(
    client: CyberTiplineClient, ledger: SqlReportStore, package: ReportPackage
) -> None:
    planned = [f.planned for f in package.files]
    rep = ledger.open("default", 1, Destination.NCMEC, "test", planned, actor=ACTOR)
    assert ledger.acquire("default", rep.id, "someone-else", lease_s=600)
    with pytest.raises(ReportingError, match="being filed by another process"):
        file_report(ledger, client, package, actor=ACTOR)
    assert ledger.get("default", rep.id).state is ReportState.DRAFT


def test_changed_case_is_refused_with_a_retract_hint(
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    crashing: Any,
) -> None:
    with pytest.raises(Crash):
        file_report(ledger, crashing("upload", "before", 1), package, actor=ACTOR)
    smaller = replace(package, files=package.files[:1])
    with pytest.raises(ReportingError, match=r"changed since report .* retract"):
        file_report(ledger, client, smaller, actor=ACTOR)


def test_changed_evidence_bytes_are_never_uploaded(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    evidence: MemEvidence,
) -> None:
    eid = package.files[1].planned.evidence_id or ""
    evidence.blobs[eid] = b"other bytes"
    with pytest.raises(ReportingError, match="sha256 differs"):
        file_report(ledger, client, package, actor=ACTOR)
    (remote,) = fake.reports.values()
    assert len(remote.files) == 1 and not remote.finished


def test_retract_unfinished_and_already_finished(
    fake: FakeCyberTipline,
    client: CyberTiplineClient,
    ledger: SqlReportStore,
    package: ReportPackage,
    crashing: Any,
) -> None:
    with pytest.raises(Crash):
        file_report(ledger, crashing("upload", "before", 1), package, actor=ACTOR)
    rep = ledger.for_case("default", 1)[0]
    out = retract_report(ledger, client, "default", rep.id, actor=ACTOR)
    assert out.outcome == "retracted" and out.report.state is ReportState.RETRACTED
    assert fake.reports[rep.remote_id or ""].retracted
    with pytest.raises(ReportingError, match="nothing to retract"):
        retract_report(ledger, client, "default", rep.id, actor=ACTOR)
    # a report whose finish went through unheard: retract learns it finished
    with pytest.raises(Crash):
        file_report(ledger, crashing("finish", "after"), package, actor=ACTOR)
    second = next(r for r in ledger.for_case("default", 1) if r.id != rep.id)
    out = retract_report(ledger, client, "default", second.id, actor=ACTOR)
    assert out.outcome == "already_finished" and out.report.state is ReportState.FINISHED
    with pytest.raises(ReportingError, match="has finished"):
        retract_report(ledger, client, "default", second.id, actor=ACTOR)
    _one_finished(fake)
