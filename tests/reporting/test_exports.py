"""Structured exports for C3P and the NCA: fields, one row per file, no content, formula
cells neutralised, a report without files still written, recorded once per destination."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from tests.reporting.conftest import CaseFactory, MemEvidence, case, decision, item

from childsafe.errors import ReportingError
from childsafe.reporting.base import Destination, ReportState
from childsafe.reporting.exports import CSV_COLUMNS, export_report
from childsafe.reporting.ncmec.from_case import CaseRecord, ReporterConfig, build_package
from childsafe.reporting.ncmec.model import UserDetails
from childsafe.storage import SqlBankStore
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.reporting import SqlReportStore

ACTOR = "cli:test"


@pytest.fixture
def ledger(store: SqlBankStore) -> SqlReportStore:
    return SqlReportStore(store.engine, SqlAuditLog(store.engine))


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_nca_export_fields(
    actioned: CaseFactory,
    reporter_config: ReporterConfig,
    evidence: MemEvidence,
    ledger: SqlReportStore,
    tmp_path: Path,
) -> None:
    rec = actioned(2, reveals={2: ["file", "exif"]})
    pkg = build_package(rec, reporter_config, evidence, actor=ACTOR)
    res = export_report(pkg, "nca", tmp_path / "out", ledger=ledger, actor=ACTOR)
    assert res.report.state is ReportState.EXPORTED and res.report.file_count == 2
    doc = json.loads(res.json_path.read_text(encoding="utf-8"))
    assert doc["hotline"].startswith("UK National Crime Agency")
    assert [f["exif_viewed_by_esp"] for f in doc["files"]] == [False, True]
    assert doc["files"][0]["sha256"] == pkg.files[0].planned.sha256
    rows = _rows(res.csv_path)
    assert list(rows[0]) == CSV_COLUMNS
    assert [r["file_viewed_by_esp"] for r in rows] == ["false", "true"]
    assert {r["reported_user"] for r in rows} == {"user-42"}
    # no content: nothing was read from the evidence store, no bytes in the files
    assert evidence.reads == []
    raw = res.json_path.read_bytes() + res.csv_path.read_bytes()
    assert evidence.blobs[pkg.files[0].planned.evidence_id or ""] not in raw
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_formula_cells_are_neutralised_and_unicode_kept(
    actioned: CaseFactory,
    reporter_config: ReporterConfig,
    evidence: MemEvidence,
    ledger: SqlReportStore,
    tmp_path: Path,
) -> None:
    pkg = build_package(actioned(1), reporter_config, evidence, actor=ACTOR)
    sneaky = UserDetails(esp_identifier='=HYPERLINK("http://x")-ünï')
    pkg = replace(pkg, report=replace(pkg.report, person_or_user_reported=sneaky))
    res = export_report(pkg, Destination.C3P, tmp_path, ledger=ledger, actor=ACTOR)
    (row,) = _rows(res.csv_path)
    assert row["reported_user"] == '\'=HYPERLINK("http://x")-ünï'
    doc = json.loads(res.json_path.read_text(encoding="utf-8"))
    assert doc["reported_user"]["esp_identifier"] == '=HYPERLINK("http://x")-ünï'


def test_report_without_files_still_has_a_row(
    reporter_config: ReporterConfig, evidence: MemEvidence, ledger: SqlReportStore, tmp_path: Path
) -> None:
    rec = CaseRecord(case(), [item(1, None, evidence)], [decision(1)], {})
    pkg = build_package(rec, reporter_config, evidence, actor=ACTOR)
    res = export_report(pkg, "c3p", tmp_path, ledger=ledger, actor=ACTOR)
    (row,) = _rows(res.csv_path)
    assert row["case_id"] == "1" and row["file_name"] == ""
    assert res.report.file_count == 0


def test_bad_destination_and_unwritable_directory(
    actioned: CaseFactory,
    reporter_config: ReporterConfig,
    evidence: MemEvidence,
    ledger: SqlReportStore,
    tmp_path: Path,
) -> None:
    pkg = build_package(actioned(1), reporter_config, evidence, actor=ACTOR)
    with pytest.raises(ReportingError, match="unknown export destination 'iwf'"):
        export_report(pkg, "iwf", tmp_path, ledger=ledger, actor=ACTOR)
    with pytest.raises(ReportingError, match="not an export destination"):
        export_report(pkg, "ncmec", tmp_path, ledger=ledger, actor=ACTOR)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportingError, match="cannot write the nca export"):
        export_report(pkg, "nca", blocker / "sub", ledger=ledger, actor=ACTOR)
    assert ledger.for_case("default", 1) == []  # nothing recorded without its files
