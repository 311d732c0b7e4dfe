"""Filing a report: submit → upload each file → fileinfo → finish, resumable, never twice.

Each step is written to the :class:`~childsafe.reporting.ledger.ReportLedger` as soon as
NCMEC has answered it; running :func:`file_report` again after a crash (or a failure)
continues where the ledger says the first run stopped. How each gap is closed:

* **Crash after submit, before its report id was saved**: we submit again. The first report
  stays unfinished at NCMEC, which deletes it an hour after its last change; an unfinished
  report never reaches an analyst, so nothing is filed twice.
* **Crash after an upload, before its file id was saved**: the file is uploaded again (the
  report then carries one unused copy; NCMEC accepts that). Details are sent once per file.
* **Crash or lost answer around finish**: the step whose answer matters. Before sending
  ``finish`` the ledger notes the attempt; a later run that sees the note calls ``retract``
  first (NCMEC's documented idempotency check): **5102 "already finished"** means the earlier
  attempt got through, so the report is marked finished and nothing is sent; success or
  **5001** means the earlier report is retracted or gone, so it is marked retracted and a new
  one is filed from the start. A lost answer to ``finish`` that the client retries at once
  shows up the same way: the retry answers 5102.
* **The remote report expired** (5001 on upload, fileinfo or finish, after an hour idle): the
  local row is marked retracted and the report is filed again from the start, once.

Any other error marks the report ``failed`` with the message, keeping what was done, and is
raised. A lease on the ledger row keeps two processes from driving one report at once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace

from childsafe.errors import ReportingError, ReportRejected
from childsafe.reporting.base import Destination, FiledReport, ReportState
from childsafe.reporting.ledger import Progress, ReportLedger
from childsafe.reporting.ncmec.client import CyberTiplineClient
from childsafe.reporting.ncmec.package import ReportPackage

ALREADY_FINISHED = 5102
NOT_FOUND = 5001
DEFAULT_LEASE_S = 900.0


@dataclass(frozen=True, slots=True)
class FilingResult:
    report: FiledReport
    already_finished: bool = False  # learnt from 5102: an earlier attempt had finished
    restarted: tuple[str, ...] = ()  # remote ids given up on (retracted or expired)


class _Restart(Exception):
    def __init__(self, remote_id: str, reason: str) -> None:
        self.remote_id = remote_id
        self.reason = reason


def file_report(
    ledger: ReportLedger,
    client: CyberTiplineClient,
    package: ReportPackage,
    *,
    actor: str,
    lease_s: float = DEFAULT_LEASE_S,
) -> FilingResult:
    """File ``package`` with NCMEC, or finish filing it; see the module docstring."""
    restarted: list[str] = []
    for _ in range(2):  # at most one restart: a second expiry in one run is an error
        try:
            report, already = _file_once(ledger, client, package, actor=actor, lease_s=lease_s)
        except _Restart as r:
            restarted.append(r.remote_id)
            continue
        return FilingResult(report, already, tuple(restarted))
    raise ReportingError(
        f"case {package.case_id}: NCMEC lost the report twice in one run "
        f"({', '.join(restarted)}); try again later"
    )


def _file_once(
    ledger: ReportLedger,
    client: CyberTiplineClient,
    package: ReportPackage,
    *,
    actor: str,
    lease_s: float,
) -> tuple[FiledReport, bool]:
    tenant = package.tenant
    env = client.environment.value
    planned = [f.planned for f in package.files]
    report = ledger.open(tenant, package.case_id, Destination.NCMEC, env, planned, actor=actor)
    if report.state is ReportState.FINISHED:
        return report, False
    owner = f"{actor}#{uuid.uuid4().hex[:12]}"
    if not ledger.acquire(tenant, report.id, owner, lease_s=lease_s):
        raise ReportingError(
            f"report {report.id} (case {package.case_id}) is being filed by another process; "
            "try again when it is done"
        )
    try:
        return _drive(ledger, client, package, ledger.progress(tenant, report.id), actor)
    except _Restart as r:
        ledger.set_retracted(tenant, report.id, actor=actor, reason=r.reason)
        raise
    except ReportingError as exc:
        ledger.set_failed(tenant, report.id, str(exc), actor=actor)
        raise
    finally:
        ledger.release(tenant, report.id, owner)


def _check_plan(package: ReportPackage, progress: Progress) -> None:
    recorded = [(f.item_id, f.sha256) for f in progress.files]
    wanted = [(f.planned.item_id, f.planned.sha256) for f in package.files]
    if recorded != wanted:
        raise ReportingError(
            f"case {package.case_id} changed since report {progress.report.id} was started "
            f"(its files differ); retract that report first: childsafe report retract "
            f"{progress.report.id}"
        )


def _drive(
    ledger: ReportLedger,
    client: CyberTiplineClient,
    package: ReportPackage,
    progress: Progress,
    actor: str,
) -> tuple[FiledReport, bool]:
    tenant, rep = package.tenant, progress.report
    _check_plan(package, progress)
    remote = rep.remote_id
    if remote is not None and progress.finish_attempted_at is not None:
        try:
            client.retract(remote)
        except ReportRejected as exc:
            if exc.code == ALREADY_FINISHED:
                return ledger.set_finished(
                    tenant, rep.id, actor=actor, how="already_finished"
                ), True
            if exc.code != NOT_FOUND:
                raise
            raise _Restart(
                remote, f"remote report {remote} is gone (5001) and never finished"
            ) from None
        raise _Restart(remote, f"remote report {remote} had not finished: retracted to refile")
    try:
        if remote is None:
            remote = client.submit(package.report)
            ledger.set_submitted(tenant, rep.id, remote, actor=actor)
        for pf, rec in zip(package.files, progress.files, strict=True):
            file_id = rec.remote_file_id
            if file_id is None:
                data = pf.load()
                if hashlib.sha256(data).hexdigest() != rec.sha256:
                    raise ReportingError(
                        f"report {rep.id}: the content of item {rec.item_id} is not what was "
                        "planned (sha256 differs): refusing to upload it"
                    )
                up = client.upload(remote, rec.name, data)
                del data
                file_id = up.file_id
                ledger.record_upload(tenant, rep.id, rec.seq, file_id, up.md5, actor=actor)
            if rec.details_sent_at is None:
                client.fileinfo(replace(pf.details, report_id=remote, file_id=file_id))
                ledger.record_details(tenant, rep.id, rec.seq, actor=actor)
        if rep.state is not ReportState.FILES_UPLOADED:
            ledger.set_files_uploaded(tenant, rep.id, actor=actor)
        ledger.mark_finish_attempt(tenant, rep.id, actor=actor)
        try:
            client.finish(remote)
        except ReportRejected as exc:
            if exc.code != ALREADY_FINISHED:
                raise
            return ledger.set_finished(tenant, rep.id, actor=actor, how="already_finished"), True
        return ledger.set_finished(tenant, rep.id, actor=actor, how="finish"), False
    except ReportRejected as exc:
        if exc.code == NOT_FOUND and remote is not None:
            raise _Restart(
                remote, f"remote report {remote} expired (5001) before finishing"
            ) from None
        raise


@dataclass(frozen=True, slots=True)
class RetractResult:
    report: FiledReport
    outcome: str  # "retracted" | "already_finished" | "gone"


def retract_report(
    ledger: ReportLedger, client: CyberTiplineClient, tenant: str, report_id: int, *, actor: str
) -> RetractResult:
    """Cancel an unfinished report at NCMEC and locally. A report NCMEC says has finished
    (5102) is marked finished instead: retracting is no way to unfile a report."""
    rep = ledger.get(tenant, report_id)
    if rep.state is ReportState.FINISHED:
        raise ReportingError(f"report {report_id} has finished: it cannot be retracted")
    if rep.state in (ReportState.RETRACTED, ReportState.EXPORTED):
        raise ReportingError(f"report {report_id} is {rep.state.value}: nothing to retract")
    if rep.remote_id is None:
        done = ledger.set_retracted(tenant, report_id, actor=actor, reason="never submitted")
        return RetractResult(done, "retracted")
    try:
        client.retract(rep.remote_id)
    except ReportRejected as exc:
        if exc.code == ALREADY_FINISHED:
            done = ledger.set_finished(tenant, report_id, actor=actor, how="already_finished")
            return RetractResult(done, "already_finished")
        if exc.code != NOT_FOUND:
            raise
        done = ledger.set_retracted(tenant, report_id, actor=actor, reason="gone at NCMEC (5001)")
        return RetractResult(done, "gone")
    done = ledger.set_retracted(tenant, report_id, actor=actor, reason="retracted at NCMEC")
    return RetractResult(done, "retracted")
