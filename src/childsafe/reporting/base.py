"""Hotline reports as filed: the read side other areas (transparency, the console) rely on.

A report is about one case and goes to one destination. Its state only moves forward:
``draft`` → ``submitted`` (the hotline gave a report id) → ``files_uploaded`` →
``finished`` (the hotline acknowledged: for NCMEC this also starts the one-year preservation
duty) — or ``retracted`` before it finished, or ``failed`` (with the last error, retryable).
A case has at most one non-retracted report per destination and environment: filing twice
is refused, and a retry after a crash first asks the hotline (``retract``: code 5102 means
the earlier attempt finished) instead of opening a second report.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Destination(StrEnum):
    NCMEC = "ncmec"  # CyberTipline Reporting API (US)
    C3P = "c3p"  # Cybertip.ca (Canada), structured export
    NCA = "nca"  # UK National Crime Agency, structured export


class ReportState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    FILES_UPLOADED = "files_uploaded"
    FINISHED = "finished"
    RETRACTED = "retracted"
    FAILED = "failed"
    EXPORTED = "exported"  # written as a structured file for a hotline without an API


@dataclass(frozen=True, slots=True)
class FiledReport:
    id: int
    tenant: str
    case_id: int
    destination: Destination
    environment: str  # "test" | "production" | "export"
    state: ReportState
    remote_id: str | None  # the hotline's report id
    file_count: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    last_error: str | None = None


class ReportStore(ABC):
    """Implemented by ``storage.reporting.SqlReportStore``."""

    @abstractmethod
    def get(self, tenant: str, report_id: int) -> FiledReport: ...

    @abstractmethod
    def for_case(self, tenant: str, case_id: int) -> builtins.list[FiledReport]: ...

    @abstractmethod
    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        state: ReportState | None = None,
    ) -> builtins.list[FiledReport]:
        """Reports created in ``since <= created_at < until``, oldest first."""
