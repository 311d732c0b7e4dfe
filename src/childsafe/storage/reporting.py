"""``SqlReportStore``: hotline reports in SQL, with every state change in the audit log.

* **One live report per case, destination and environment**, enforced by the partial unique
  index ``uq_reports_live`` (migration 0006). :meth:`SqlReportStore.open` returns the live
  one when it exists, so filing again resumes it; two processes opening at once end with the
  same row (the loser of the insert race reads the winner's).
* **Forward only.** Each write names the states it may start from; a write from any other
  state changes nothing and raises :class:`~childsafe.errors.ReportingError` naming the
  report and its state. ``failed`` is the one state that can move back into the flow (a
  retry), and ``finished``, ``retracted`` and ``exported`` are final.
* **Audited in the same transaction** (``SqlAuditLog.append(event, conn=conn)``): a change
  and its audit entry commit together or not at all. Our row is written first, then the
  entry, as the audit log asks of SQLite callers.
* **A lease, not a lock,** keeps two filers off one report: a process takes it for
  ``lease_s`` seconds and gives it back when done; one that crashed loses it when it
  expires, so a report is never stuck.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from childsafe.audit.base import AuditEvent
from childsafe.errors import ReportingError
from childsafe.reporting.base import Destination, FiledReport, ReportState
from childsafe.reporting.ledger import PlannedFile, Progress, ReportFile, ReportLedger
from childsafe.storage._common import check_tenant, to_utc, utc
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.models_reporting import report_files, reports

S = ReportState
_FLOW = frozenset({S.SUBMITTED, S.FILES_UPLOADED, S.FAILED})
_UNFINISHED = frozenset({S.DRAFT, S.SUBMITTED, S.FILES_UPLOADED, S.FAILED})
_ENVIRONMENTS = frozenset({"test", "production", "export"})
MAX_LIST = 10_000


class ReportNotFound(ReportingError, LookupError):
    """No report of that id in the tenant."""


def _filed(r: Row[Any]) -> FiledReport:
    return FiledReport(
        id=int(r.id),
        tenant=r.tenant,
        case_id=int(r.case_id),
        destination=Destination(r.destination),
        environment=r.environment,
        state=ReportState(r.state),
        remote_id=r.remote_id,
        file_count=int(r.file_count),
        created_at=utc(r.created_at),
        updated_at=utc(r.updated_at),
        finished_at=utc(r.finished_at) if r.finished_at is not None else None,
        last_error=r.last_error,
    )


def _file(r: Row[Any]) -> ReportFile:
    return ReportFile(
        report_id=int(r.report_id),
        seq=int(r.seq),
        item_id=int(r.item_id),
        name=r.name,
        evidence_id=r.evidence_id,
        size=int(r.size),
        md5=r.md5,
        sha256=r.sha256,
        remote_file_id=r.remote_file_id,
        remote_md5=r.remote_md5,
        uploaded_at=utc(r.uploaded_at) if r.uploaded_at is not None else None,
        details_sent_at=utc(r.details_sent_at) if r.details_sent_at is not None else None,
    )


def _file_rows(report_id: int, files: Sequence[PlannedFile]) -> list[dict[str, Any]]:
    rows = []
    for seq, f in enumerate(files):
        if len(f.md5) != 32 or len(f.sha256) != 64:
            raise ReportingError(f"file {f.name!r} (item {f.item_id}): md5/sha256 malformed")
        rows.append(
            {
                "report_id": report_id,
                "seq": seq,
                "item_id": f.item_id,
                "name": f.name,
                "evidence_id": f.evidence_id,
                "size": f.size,
                "md5": f.md5,
                "sha256": f.sha256,
            }
        )
    return rows


class SqlReportStore(ReportLedger):
    """Reports on SQLite or PostgreSQL; see the module docstring for its guarantees."""

    def __init__(
        self,
        engine: Engine,
        audit: SqlAuditLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.audit = audit
        self._clock = clock
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self._sqlite else nullcontext()
        )

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def _audit(
        self,
        conn: Connection,
        tenant: str,
        actor: str,
        action: str,
        report_id: int,
        details: Mapping[str, Any],
    ) -> None:
        event = AuditEvent(tenant, actor, action, "report", str(report_id), dict(details))
        self.audit.append(event, conn=conn)

    def _row(self, conn: Connection, tenant: str, report_id: int) -> Row[Any]:
        row = conn.execute(
            select(reports).where(reports.c.id == report_id, reports.c.tenant == tenant)
        ).first()
        if row is None:
            raise ReportNotFound(f"tenant {tenant!r} has no report {report_id}")
        return row

    def _change(
        self,
        tenant: str,
        report_id: int,
        *,
        allowed: frozenset[ReportState],
        values: Mapping[str, Any],
        action: str,
        actor: str,
        details: Mapping[str, Any] | None = None,
        verb: str,
        need_remote: bool = False,
    ) -> FiledReport:
        now = self._clock()
        c = reports.c
        with self._tx() as conn:
            where = [c.id == report_id, c.tenant == tenant, c.state.in_([s.value for s in allowed])]
            if need_remote:
                where.append(c.remote_id.isnot(None))
            done = conn.execute(
                update(reports).where(*where).values(updated_at=now, **values)
            ).rowcount
            row = self._row(conn, tenant, report_id)
            if done != 1:
                raise ReportingError(
                    f"report {report_id} is {row.state}"
                    + ("" if row.remote_id or not need_remote else " and not submitted")
                    + f": cannot {verb}"
                )
            base = {"case_id": int(row.case_id), "destination": row.destination}
            self._audit(conn, tenant, actor, action, report_id, base | dict(details or {}))
            return _filed(row)

    # -- reads -----------------------------------------------------------------------------

    def get(self, tenant: str, report_id: int) -> FiledReport:
        with self.engine.connect() as conn:
            return _filed(self._row(conn, tenant, report_id))

    def for_case(self, tenant: str, case_id: int) -> builtins.list[FiledReport]:
        c = reports.c
        q = select(reports).where(c.tenant == tenant, c.case_id == case_id).order_by(c.id)
        with self.engine.connect() as conn:
            return [_filed(r) for r in conn.execute(q)]

    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        state: ReportState | None = None,
        limit: int = MAX_LIST,
    ) -> builtins.list[FiledReport]:
        c = reports.c
        q = select(reports).where(c.tenant == tenant)
        if since is not None:
            q = q.where(c.created_at >= to_utc(since))
        if until is not None:
            q = q.where(c.created_at < to_utc(until))
        if state is not None:
            q = q.where(c.state == ReportState(state).value)
        q = q.order_by(c.created_at, c.id).limit(min(max(1, limit), MAX_LIST))
        with self.engine.connect() as conn:
            return [_filed(r) for r in conn.execute(q)]

    def progress(self, tenant: str, report_id: int) -> Progress:
        with self.engine.connect() as conn:
            row = self._row(conn, tenant, report_id)
            files = conn.execute(
                select(report_files)
                .where(report_files.c.report_id == report_id)
                .order_by(report_files.c.seq)
            )
            return Progress(
                report=_filed(row),
                files=tuple(_file(f) for f in files),
                finish_attempted_at=(
                    utc(row.finish_attempted_at) if row.finish_attempted_at is not None else None
                ),
                export_path=row.export_path,
            )

    # -- opening ---------------------------------------------------------------------------

    def _live(
        self, conn: Connection, tenant: str, case_id: int, dest: Destination, env: str
    ) -> Row[Any] | None:
        c = reports.c
        return conn.execute(
            select(reports).where(
                c.tenant == tenant,
                c.case_id == case_id,
                c.destination == dest.value,
                c.environment == env,
                c.state != ReportState.RETRACTED.value,
            )
        ).first()

    def _check_key(self, tenant: str, destination: Destination, environment: str) -> None:
        try:
            check_tenant(tenant)
        except ValueError as exc:
            raise ReportingError(str(exc)) from None
        Destination(destination)
        if environment not in _ENVIRONMENTS:
            raise ReportingError(
                f"unknown report environment {environment!r}: {sorted(_ENVIRONMENTS)}"
            )

    def open(
        self,
        tenant: str,
        case_id: int,
        destination: Destination,
        environment: str,
        files: Sequence[PlannedFile],
        *,
        actor: str,
    ) -> FiledReport:
        self._check_key(tenant, destination, environment)
        for attempt in range(2):
            try:
                with self._tx() as conn:
                    live = self._live(conn, tenant, case_id, destination, environment)
                    if live is not None:
                        return _filed(live)
                    now = self._clock()
                    report_id = self._insert(
                        conn, tenant, case_id, destination, environment, files, now, S.DRAFT
                    )
                    details = {
                        "case_id": case_id,
                        "destination": destination.value,
                        "environment": environment,
                        "files": len(files),
                    }
                    self._audit(conn, tenant, actor, "report.create", report_id, details)
                    return _filed(self._row(conn, tenant, report_id))
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert(
        self,
        conn: Connection,
        tenant: str,
        case_id: int,
        destination: Destination,
        environment: str,
        files: Sequence[PlannedFile],
        now: datetime,
        state: ReportState,
        export_path: str | None = None,
    ) -> int:
        res = conn.execute(
            insert(reports)
            .values(
                tenant=tenant,
                case_id=case_id,
                destination=destination.value,
                environment=environment,
                state=state.value,
                file_count=len(files),
                created_at=now,
                updated_at=now,
                export_path=export_path,
            )
            .returning(reports.c.id)
        )
        report_id = int(res.scalar_one())
        rows = _file_rows(report_id, files)
        if rows:
            conn.execute(insert(report_files), rows)
        return report_id

    # -- the lease -------------------------------------------------------------------------

    def acquire(self, tenant: str, report_id: int, owner: str, *, lease_s: float) -> bool:
        now = self._clock()
        c = reports.c
        free = (c.lease_owner.is_(None)) | (c.lease_until < now) | (c.lease_owner == owner)
        with self._tx() as conn:
            done = conn.execute(
                update(reports)
                .where(c.id == report_id, c.tenant == tenant, free)
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
            ).rowcount
            if done != 1:
                self._row(conn, tenant, report_id)  # ReportNotFound if it does not exist
            return done == 1

    def release(self, tenant: str, report_id: int, owner: str) -> None:
        c = reports.c
        with self._tx() as conn:
            conn.execute(
                update(reports)
                .where(c.id == report_id, c.tenant == tenant, c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    # -- the filing steps ------------------------------------------------------------------

    def set_submitted(self, tenant: str, report_id: int, remote_id: str, *, actor: str) -> None:
        if not remote_id or len(remote_id) > 128:
            raise ReportingError(f"report {report_id}: bad remote report id {remote_id!r}")
        self._change(
            tenant,
            report_id,
            allowed=frozenset({S.DRAFT, S.FAILED}),
            values={
                "state": S.SUBMITTED.value,
                "remote_id": remote_id,
                "submitted_at": self._clock(),
                "last_error": None,
            },
            action="report.submit",
            actor=actor,
            details={"remote_id": remote_id},
            verb="record a submission",
        )

    def _file_step(
        self,
        tenant: str,
        report_id: int,
        seq: int,
        values: Mapping[str, Any],
        action: str,
        actor: str,
        details: Mapping[str, Any],
    ) -> None:
        now = self._clock()
        with self._tx() as conn:
            row = self._row(conn, tenant, report_id)
            if ReportState(row.state) not in _FLOW or row.remote_id is None:
                raise ReportingError(f"report {report_id} is {row.state}: cannot {action}")
            f = report_files.c
            done = conn.execute(
                update(report_files).where(f.report_id == report_id, f.seq == seq).values(**values)
            ).rowcount
            if done != 1:
                raise ReportingError(f"report {report_id} has no file #{seq}")
            conn.execute(update(reports).where(reports.c.id == report_id).values(updated_at=now))
            base = {"case_id": int(row.case_id), "remote_id": row.remote_id, "seq": seq}
            self._audit(conn, tenant, actor, action, report_id, base | dict(details))

    def record_upload(
        self,
        tenant: str,
        report_id: int,
        seq: int,
        remote_file_id: str,
        remote_md5: str,
        *,
        actor: str,
    ) -> None:
        values = {
            "remote_file_id": remote_file_id,
            "remote_md5": remote_md5.lower(),
            "uploaded_at": self._clock(),
            "details_sent_at": None,
        }
        details = {"file_id": remote_file_id, "md5": remote_md5.lower()}
        self._file_step(tenant, report_id, seq, values, "report.upload", actor, details)

    def record_details(self, tenant: str, report_id: int, seq: int, *, actor: str) -> None:
        values = {"details_sent_at": self._clock()}
        self._file_step(tenant, report_id, seq, values, "report.fileinfo", actor, {})

    def set_files_uploaded(self, tenant: str, report_id: int, *, actor: str) -> None:
        with self.engine.connect() as conn:
            f = report_files.c
            missing = conn.execute(
                select(f.seq).where(
                    f.report_id == report_id,
                    f.remote_file_id.is_(None) | f.details_sent_at.is_(None),
                )
            ).first()
        if missing is not None:
            raise ReportingError(
                f"report {report_id}: file #{missing.seq} is not uploaded with its details"
            )
        self._change(
            tenant,
            report_id,
            allowed=_FLOW,
            values={"state": S.FILES_UPLOADED.value, "last_error": None},
            action="report.files_uploaded",
            actor=actor,
            verb="mark its files uploaded",
            need_remote=True,
        )

    def mark_finish_attempt(self, tenant: str, report_id: int, *, actor: str) -> None:
        self._change(
            tenant,
            report_id,
            allowed=_FLOW,
            values={"finish_attempted_at": self._clock()},
            action="report.finish_attempt",
            actor=actor,
            verb="attempt to finish",
            need_remote=True,
        )

    def set_finished(self, tenant: str, report_id: int, *, actor: str, how: str) -> FiledReport:
        now = self._clock()
        return self._change(
            tenant,
            report_id,
            allowed=_FLOW,
            values={
                "state": S.FINISHED.value,
                "finished_at": now,
                "last_error": None,
                "lease_owner": None,
                "lease_until": None,
            },
            action="report.finish",
            actor=actor,
            details={"how": how},
            verb="finish",
            need_remote=True,
        )

    def set_retracted(self, tenant: str, report_id: int, *, actor: str, reason: str) -> FiledReport:
        return self._change(
            tenant,
            report_id,
            allowed=_UNFINISHED,
            values={"state": S.RETRACTED.value, "retracted_at": self._clock()},
            action="report.retract",
            actor=actor,
            details={"reason": reason},
            verb="retract",
        )

    def set_failed(self, tenant: str, report_id: int, error: str, *, actor: str) -> FiledReport:
        return self._change(
            tenant,
            report_id,
            allowed=_UNFINISHED,
            values={"state": S.FAILED.value, "last_error": error[:4000]},
            action="report.fail",
            actor=actor,
            details={"error": error[:1000]},
            verb="mark it failed",
        )

    # -- exports ---------------------------------------------------------------------------

    def record_export(
        self,
        tenant: str,
        case_id: int,
        destination: Destination,
        files: Sequence[PlannedFile],
        path: str,
        *,
        actor: str,
    ) -> FiledReport:
        destination = Destination(destination)
        if destination is Destination.NCMEC:
            raise ReportingError("NCMEC reports are filed through the API, not exported")
        self._check_key(tenant, destination, "export")
        now = self._clock()
        with self._tx() as conn:
            live = self._live(conn, tenant, case_id, destination, "export")
            again = live is not None
            if live is None:
                report_id = self._insert(
                    conn, tenant, case_id, destination, "export", files, now, S.EXPORTED, path
                )
            else:
                report_id = int(live.id)
                conn.execute(
                    update(reports)
                    .where(reports.c.id == report_id)
                    .values(updated_at=now, export_path=path, file_count=len(files))
                )
                conn.execute(delete(report_files).where(report_files.c.report_id == report_id))
                rows = _file_rows(report_id, files)
                if rows:
                    conn.execute(insert(report_files), rows)
            details = {
                "case_id": case_id,
                "destination": destination.value,
                "files": len(files),
                "path": path,
                "again": again,
            }
            self._audit(conn, tenant, actor, "report.export", report_id, details)
            return _filed(self._row(conn, tenant, report_id))
