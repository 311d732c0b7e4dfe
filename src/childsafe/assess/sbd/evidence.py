"""What the self-assessment may cite: dataset scans, assessment runs and model scans read
from their output files, plus what the CLI gathers from the store and the settings.

Only counts, names and configuration flags are kept, never content; a file that is not what
it should be is an :class:`~childsafe.errors.AssessError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from childsafe.errors import AssessError

__all__ = [
    "MODEL_SCAN_FORMAT",
    "AssessmentRecord",
    "BankRecord",
    "Evidence",
    "ScanRecord",
    "load_assessment",
    "load_scan",
]

MODEL_SCAN_FORMAT = "childsafe-model-scan/1"


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """A dataset scan's ``summary.json``: counts and what it matched with, never content."""

    path: str
    items: int
    quarantined: int
    errors: int
    banks: tuple[str, ...]
    classifiers: tuple[str, ...]
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """A probe run folder (``run.json``, ``report.json``) or a hosted-model scan report."""

    path: str
    kind: str  # "probe_run" | "model_scan"
    name: str
    finished: bool = False
    scored: bool = False  # a report (metrics and grade) exists
    model_card: bool = False  # a model-card section was written
    grade: str | None = None
    unsafe_rate: float | None = None
    over_refusal: float | None = None
    models_scanned: int = 0
    models_flagged: int = 0


@dataclass(frozen=True, slots=True)
class BankRecord:
    name: str
    version: int
    entries: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the checklist may cite. ``None`` means "could not be known" (e.g. the
    database was unreachable), which makes an item ``unknown`` rather than ``not_met``."""

    scans: tuple[ScanRecord, ...] = ()
    assessments: tuple[AssessmentRecord, ...] = ()
    banks: tuple[BankRecord, ...] | None = None
    active_policies: int | None = None
    decisions: Mapping[str, int] | None = None  # decision → count, all tenants
    reviewers: int | None = None
    second_review: bool = False
    reporting_configured: bool = False
    reporting_environment: str | None = None
    provenance_configured: bool = False
    actions_configured: bool = False
    retention_days: int | None = None
    problems: tuple[str, ...] = ()  # evidence sources that could not be read
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssessError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AssessError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise AssessError(f"{path}: expected a JSON object")
    return doc


def _obj(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _int(v: object) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def load_scan(directory: Path) -> ScanRecord:
    """Read a ``childsafe scan`` output folder (its ``summary.json``)."""
    doc = _json(directory / "summary.json")
    items, repro = doc.get("items"), doc.get("reproducibility")
    if not isinstance(items, dict) or not isinstance(repro, dict):
        raise AssessError(f"{directory}/summary.json: not a childsafe scan summary")
    timing = _obj(doc, "timing")
    return ScanRecord(
        path=str(directory),
        items=_int(items.get("total")),
        quarantined=_int(items.get("quarantined")),
        errors=_int(items.get("error")),
        banks=tuple(str(b.get("name")) for b in repro.get("banks") or [] if isinstance(b, dict)),
        classifiers=tuple(
            str(m.get("name")) for m in repro.get("models") or [] if isinstance(m, dict)
        ),
        finished_at=str(timing.get("finished_at")) if timing.get("finished_at") else None,
    )


def _model_scan(path: Path, doc: Mapping[str, Any]) -> AssessmentRecord:
    counts = _obj(doc, "counts")
    return AssessmentRecord(
        path=str(path),
        kind="model_scan",
        name=str(doc.get("source") or path.name),
        finished=True,
        scored=True,
        models_scanned=_int(counts.get("total")),
        models_flagged=_int(counts.get("flagged")),
    )


def _probe_run(directory: Path) -> AssessmentRecord:
    run = _json(directory / "run.json")
    suite, target = _obj(run, "suite"), _obj(run, "target")
    name = str(target.get("model") or target.get("name") or run.get("run_id") or directory.name)
    record = AssessmentRecord(
        path=str(directory),
        kind="probe_run",
        name=f"{name} ({suite.get('name', '?')} v{suite.get('version', '?')})",
        finished=bool(run.get("finished_at")),
        model_card=(directory / "model_card.md").is_file(),
    )
    if not (directory / "report.json").is_file():
        return record
    report = _json(directory / "report.json")
    g = report.get("grade")
    g = g if isinstance(g, dict) else {"grade": g} if isinstance(g, str) else {}
    unsafe, over = g.get("unsafe_rate"), g.get("over_refusal")
    return AssessmentRecord(
        **{
            **asdict(record),
            "scored": True,
            "grade": str(g["grade"]) if g.get("grade") else None,
            "unsafe_rate": float(unsafe) if isinstance(unsafe, int | float) else None,
            "over_refusal": float(over) if isinstance(over, int | float) else None,
        }
    )


def load_assessment(path: Path) -> AssessmentRecord:
    """A probe run folder (``run.json``), or a model-scan report (a file, or a folder with
    ``model_scan.json``) as ``childsafe assess models --out`` writes it."""
    if path.is_dir() and (path / "run.json").is_file():
        return _probe_run(path)
    target = path / "model_scan.json" if path.is_dir() else path
    if not target.is_file():
        raise AssessError(f"{path}: neither a run folder (run.json) nor a model-scan report")
    doc = _json(target)
    if doc.get("format") != MODEL_SCAN_FORMAT:
        raise AssessError(f"{target}: format is {doc.get('format')!r}, not {MODEL_SCAN_FORMAT}")
    return _model_scan(target, doc)
