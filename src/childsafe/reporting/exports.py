"""Structured exports for hotlines without an API we file through: C3P (Cybertip.ca) and the
UK NCA.

Canada's reporting Act has providers report to C3P through its portal (URLs, IPs); the UK's
Online Safety Act s.66 reporting regulations list what a CSEA report to the NCA holds (user
identifiers, IP address and port, EXIF, hash values, connected accounts). Both take what a
CyberTipline report already carries, so an export is the same :class:`ReportPackage` written
as one JSON document and one CSV table (a row per file) for a person to submit or a later
API client to send. Ids, hashes, flags and timestamps only: never content (the files stay
in the evidence store; the hotline asks for them through its own channel).

Files are written to a temporary name and renamed, and recorded in the report store only
once both exist, so a recorded export always has its files. CSV cells that a spreadsheet
would run as a formula (leading ``= + - @``) are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from childsafe.errors import ReportingError
from childsafe.reporting.base import Destination, FiledReport
from childsafe.reporting.ledger import ReportLedger
from childsafe.reporting.ncmec.model import FileAnnotation, IpCaptureEvent
from childsafe.reporting.ncmec.package import PackageFile, ReportPackage

FORMAT = "childsafe-hotline-export/1"
HOTLINES = {
    Destination.C3P: "Cybertip.ca (Canadian Centre for Child Protection)",
    Destination.NCA: "UK National Crime Agency (Online Safety Act 2023 s.66)",
}
CSV_COLUMNS = [
    "tenant",
    "case_id",
    "destination",
    "incident_type",
    "incident_date_time",
    "reported_user",
    "ip_address",
    "port",
    "ip_event",
    "ip_date_time",
    "file_name",
    "item_id",
    "size",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "file_viewed_by_esp",
    "exif_viewed_by_esp",
    "uploaded_at",
    "location_of_file",
    "publicly_available",
    "industry_classification",
    "generative_ai",
]


@dataclass(frozen=True, slots=True)
class ExportResult:
    report: FiledReport
    json_path: Path
    csv_path: Path


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def _ip(ev: IpCaptureEvent) -> dict[str, Any]:
    return {
        "ip_address": ev.ip_address,
        "port": ev.port,
        "event": ev.event_name.value if ev.event_name else None,
        "date_time": _iso(ev.date_time),
        "possible_proxy": ev.possible_proxy,
    }


def _file(f: PackageFile) -> dict[str, Any]:
    d = f.details
    return {
        "item_id": f.planned.item_id,
        "file_name": f.planned.name,
        "size": f.planned.size,
        "md5": f.planned.md5,
        "sha256": f.planned.sha256,
        "original_hashes": {h.hash_type: h.value for h in d.original_file_hashes},
        "file_viewed_by_esp": d.file_viewed_by_esp,
        "exif_viewed_by_esp": d.exif_viewed_by_esp,
        "uploaded_at": _iso(d.uploaded_to_esp_timestamp),
        "location_of_file": d.location_of_file,
        "original_file_name": d.original_file_name,
        "publicly_available": d.publicly_available,
        "industry_classification": (
            d.industry_classification.value if d.industry_classification else None
        ),
        "generative_ai": FileAnnotation.GENERATIVE_AI in d.annotations,
        "ip_capture_events": [_ip(e) for e in d.ip_capture_events],
        "viewing_note": d.additional_info,
    }


def document(package: ReportPackage, destination: Destination, now: datetime) -> dict[str, Any]:
    """The JSON export of ``package`` for ``destination``."""
    r = package.report
    s = r.incident_summary
    person = r.reporter.reporting_person
    user = r.person_or_user_reported
    urls = [u for d in r.internet_details for u in getattr(d, "urls", ())]
    return {
        "format": FORMAT,
        "destination": destination.value,
        "hotline": HOTLINES[destination],
        "generated_at": _iso(now),
        "tenant": package.tenant,
        "case_id": package.case_id,
        "incident": {
            "type": s.incident_type.value,
            "date_time": _iso(s.incident_date_time),
            "platform": s.platform,
            "annotations": sorted(a.value for a in s.annotations),
        },
        "reporter": {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "emails": [e.address for e in person.emails],
            "company": r.reporter.company_template,
        },
        "reported_user": None
        if user is None
        else {
            "esp_identifier": user.esp_identifier,
            "esp_service": user.esp_service,
            "screen_name": user.screen_name,
            "connected_accounts": list(user.prior_ct_reports),
            "ip_capture_events": [_ip(e) for e in user.ip_capture_events],
        },
        "urls": urls,
        "files": [_file(f) for f in package.files],
        "notes": list(package.notes),
        "additional_info": r.additional_info,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _rows(doc: dict[str, Any]) -> Iterable[list[str]]:
    user = doc["reported_user"] or {}
    user_ips = user.get("ip_capture_events") or []
    base = {
        "tenant": doc["tenant"],
        "case_id": doc["case_id"],
        "destination": doc["destination"],
        "incident_type": doc["incident"]["type"],
        "incident_date_time": doc["incident"]["date_time"],
        "reported_user": user.get("esp_identifier"),
    }
    files = doc["files"] or [{}]  # a report without files still gets its row
    for f in files:
        ips = f.get("ip_capture_events") or user_ips or [{}]
        hashes = f.get("original_hashes") or {}
        for ip in ips:
            row = dict(base)
            row.update(
                ip_address=ip.get("ip_address"),
                port=ip.get("port"),
                ip_event=ip.get("event"),
                ip_date_time=ip.get("date_time"),
                file_name=f.get("file_name"),
                item_id=f.get("item_id"),
                size=f.get("size"),
                md5=f.get("md5") or hashes.get("MD5"),
                sha1=hashes.get("SHA1"),
                sha256=f.get("sha256") or hashes.get("SHA256"),
                pdq=hashes.get("PDQ"),
                file_viewed_by_esp=f.get("file_viewed_by_esp"),
                exif_viewed_by_esp=f.get("exif_viewed_by_esp"),
                uploaded_at=f.get("uploaded_at"),
                location_of_file=f.get("location_of_file"),
                publicly_available=f.get("publicly_available"),
                industry_classification=f.get("industry_classification"),
                generative_ai=f.get("generative_ai"),
            )
            yield [_cell(row.get(c)) for c in CSV_COLUMNS]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def export_report(
    package: ReportPackage,
    destination: Destination | str,
    out_dir: Path,
    *,
    ledger: ReportLedger,
    actor: str,
    now: datetime | None = None,
) -> ExportResult:
    """Write ``package`` for ``destination`` (``c3p`` or ``nca``) into ``out_dir`` and record
    it as ``exported``; exporting the case again rewrites the files and updates the record."""
    try:
        dest = Destination(destination)
    except ValueError:
        raise ReportingError(f"unknown export destination {destination!r}: c3p or nca") from None
    if dest not in HOTLINES:
        raise ReportingError(f"{dest.value} is not an export destination: c3p or nca")
    now = now or datetime.now(UTC)
    doc = document(package, dest, now)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_rows(doc))
    stem = f"{dest.value}-{package.tenant}-case{package.case_id}"
    json_path, csv_path = out_dir / f"{stem}.json", out_dir / f"{stem}.csv"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write(json_path, json.dumps(doc, indent=2, ensure_ascii=False).encode())
        _write(csv_path, buf.getvalue().encode("utf-8"))
    except OSError as exc:
        raise ReportingError(f"cannot write the {dest.value} export to {out_dir}: {exc}") from None
    planned = [f.planned for f in package.files]
    report = ledger.record_export(
        package.tenant, package.case_id, dest, planned, str(json_path), actor=actor
    )
    return ExportResult(report, json_path, csv_path)
