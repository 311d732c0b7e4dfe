"""The write side of the report store: what filing and exports persist, step by step.

Filing is a sequence of remote calls, any of which can be the last before a crash. Each step
is written to the ledger as soon as the hotline has answered it, so a second run knows
exactly where the first stopped: the remote report id, which files were uploaded (NCMEC's
file id and MD5), which had their details sent, and whether ``finish`` was *attempted*
(that is the step whose answer can be lost, see :mod:`~childsafe.reporting.ncmec.filing`).

A live report (any state but ``retracted``) is unique per (tenant, case, destination,
environment); :meth:`ReportLedger.open` returns the live one when there is one, so "file it
again" resumes instead of opening a second report. Filing takes a lease on the row first,
so two processes never drive the same report at once.

Implemented by ``storage.reporting.SqlReportStore``; every change writes an audit event in
the same transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from childsafe.reporting.base import Destination, FiledReport, ReportStore


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file the report will carry: ids and hashes only, never bytes."""

    item_id: int
    name: str
    evidence_id: str | None
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A planned file and how far it got."""

    report_id: int
    seq: int  # 0-based position in the report
    item_id: int
    name: str
    evidence_id: str | None
    size: int
    md5: str
    sha256: str
    remote_file_id: str | None = None
    remote_md5: str | None = None
    uploaded_at: datetime | None = None
    details_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    report: FiledReport
    files: tuple[ReportFile, ...]
    finish_attempted_at: datetime | None
    export_path: str | None = None


class ReportLedger(ReportStore):
    """Reads (``ReportStore``) plus the writes of filing and exports."""

    @abstractmethod
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
        """The case's live report for this destination and environment, or a new draft."""

    @abstractmethod
    def progress(self, tenant: str, report_id: int) -> Progress: ...

    @abstractmethod
    def acquire(self, tenant: str, report_id: int, owner: str, *, lease_s: float) -> bool:
        """Take the filing lease (free, expired or already ours); False if another holds it."""

    @abstractmethod
    def release(self, tenant: str, report_id: int, owner: str) -> None: ...

    @abstractmethod
    def set_submitted(self, tenant: str, report_id: int, remote_id: str, *, actor: str) -> None:
        """``draft``/``failed`` → ``submitted`` with the hotline's report id."""

    @abstractmethod
    def record_upload(
        self,
        tenant: str,
        report_id: int,
        seq: int,
        remote_file_id: str,
        remote_md5: str,
        *,
        actor: str,
    ) -> None: ...

    @abstractmethod
    def record_details(self, tenant: str, report_id: int, seq: int, *, actor: str) -> None:
        """The file's ``fileDetails`` were accepted."""

    @abstractmethod
    def set_files_uploaded(self, tenant: str, report_id: int, *, actor: str) -> None: ...

    @abstractmethod
    def mark_finish_attempt(self, tenant: str, report_id: int, *, actor: str) -> None:
        """Written *before* ``finish`` is sent: from here on, a retry must ask first."""

    @abstractmethod
    def set_finished(self, tenant: str, report_id: int, *, actor: str, how: str) -> FiledReport:
        """``how``: ``finish`` (acknowledged) or ``already_finished`` (learnt from 5102)."""

    @abstractmethod
    def set_retracted(
        self, tenant: str, report_id: int, *, actor: str, reason: str
    ) -> FiledReport: ...

    @abstractmethod
    def set_failed(self, tenant: str, report_id: int, error: str, *, actor: str) -> FiledReport:
        """Keep what was done (remote id, uploads) so a retry resumes; note the error."""

    @abstractmethod
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
        """An export written to ``path``: a new ``exported`` report, or the case's earlier
        export for this destination brought up to date (exporting again is not a second
        report)."""
