"""What filing needs about one report: the report, and per file its details and a way to
read its bytes (from the evidence store, only at upload time, never kept in memory longer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from childsafe.reporting.ledger import PlannedFile
from childsafe.reporting.ncmec.model import FileDetails, Report


@dataclass(frozen=True, slots=True)
class PackageFile:
    planned: PlannedFile
    details: FileDetails  # reportId and fileId are filled in once NCMEC has given them
    load: Callable[[], bytes] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReportPackage:
    tenant: str
    case_id: int
    report: Report
    files: tuple[PackageFile, ...]
    notes: tuple[str, ...] = ()  # what was left out and why (items without kept content, ...)
