"""Build a CyberTipline report from a reviewed case.

Triage is not proof: only an ``actioned`` case (a human confirmed a violation, and a second
reviewer agreed where ``second_review`` is on) can become a report; anything else is refused.
Where each field comes from (docs/reporting.md has the full table):

* **files**: the case's items a reviewer found violating (an item's own latest decision, or
  the case's when the item has none); an item without kept content cannot be uploaded and is
  named, with its hashes, in the report's ``additionalInfo`` instead. Bytes are read from the
  evidence store only when filing uploads them (``PackageFile.load``); building a preview
  reads metadata only.
* **fileViewedByEsp / exifViewedByEsp**: from reveal records and nothing else (US v. Wilson).
  No reveal: ``false``, written out, never left to a default. EXIF revealed without the file:
  the API forbids ``exifViewedByEsp`` without ``fileViewedByEsp``, and claiming a file view
  that did not happen would be false, so both are ``false`` and ``additionalInfo`` says the
  EXIF was viewed.
* **industryClassification / generativeAi**: from the violation decision (the item's, else
  the case's); ``generativeAi`` also when the reason is ``aig_csam`` or the item is known to
  be AI-generated.
* **originalFileHash**: the item's hashes as intake computed them, before any change; the
  evidence blob must have the same SHA-256 or the build fails (we would report other bytes).
* **reporter**: from the deployment's reporter configuration (who NCMEC contacts).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from childsafe.errors import ReportingError
from childsafe.evidence.base import EvidenceRecord
from childsafe.reporting.ledger import PlannedFile
from childsafe.reporting.ncmec.model import (
    ChatImIncident,
    FileAnnotation,
    FileDetails,
    FileRelevance,
    IncidentSummary,
    IncidentType,
    IndustryClassification,
    InternetDetail,
    IpCaptureEvent,
    IpEventName,
    OriginalFileHash,
    Report,
    ReportAnnotation,
    Reporter,
    UserDetails,
    WebPageIncident,
)
from childsafe.reporting.ncmec.package import PackageFile, ReportPackage
from childsafe.review.base import (
    Case,
    CaseItem,
    CaseState,
    CaseStore,
    Decision,
    Outcome,
    Reveal,
    SubjectKind,
)

_HASH_TYPES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "pdq": "PDQ"}
_CSAM_REASONS = frozenset({"csam_known", "csam_new", "aig_csam"})


class EvidenceSource(Protocol):
    """The two evidence-store calls a report needs (``EvidenceStore`` has both)."""

    def record(self, tenant: str, evidence_id: str) -> EvidenceRecord: ...

    def read(self, tenant: str, evidence_id: str, *, actor: str, role: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ReporterConfig:
    reporter: Reporter
    platform: str | None = None  # incidentSummary/platform and espService
    default_incident_type: IncidentType = IncidentType.CHILD_PORNOGRAPHY


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """Everything about a case a report is built from."""

    case: Case
    items: Sequence[CaseItem]
    decisions: Sequence[Decision]
    reveals: Mapping[int, Sequence[Reveal]]  # item id -> its reveals


def record_from_store(cases: CaseStore, tenant: str, case_id: int) -> CaseRecord:
    case = cases.get(tenant, case_id)
    items = cases.items(tenant, case_id)
    return CaseRecord(
        case=case,
        items=items,
        decisions=cases.decisions(tenant, case_id),
        reveals={i.id: cases.reveals(tenant, i.id) for i in items},
    )


def _latest(decisions: Sequence[Decision]) -> Decision | None:
    return max(decisions, key=lambda d: (d.at, d.id)) if decisions else None


def _item_decisions(rec: CaseRecord) -> tuple[Decision | None, dict[int, Decision]]:
    case_level = _latest([d for d in rec.decisions if d.item_id is None])
    per_item: dict[int, Decision] = {}
    for d in sorted(rec.decisions, key=lambda d: (d.at, d.id)):
        if d.item_id is not None:
            per_item[d.item_id] = d
    return case_level, per_item


def _incident(reason: str, default: IncidentType) -> tuple[IncidentType, frozenset[Any]]:
    if reason in _CSAM_REASONS:
        return IncidentType.CHILD_PORNOGRAPHY, frozenset()
    if reason == "csem_grooming":
        return IncidentType.ONLINE_ENTICEMENT, frozenset()
    if reason == "csem_sextortion":
        return IncidentType.ONLINE_ENTICEMENT, frozenset({ReportAnnotation.SEXTORTION})
    return default, frozenset()


def _ip_events(item: CaseItem) -> tuple[IpCaptureEvent, ...]:
    ip = item.provenance.get("ip")
    if not isinstance(ip, str) or not ip:
        return ()
    port = item.provenance.get("port")
    return (
        IpCaptureEvent(
            ip_address=ip,
            event_name=IpEventName.UPLOAD,
            date_time=item.occurred_at,
            port=port if isinstance(port, int) and not isinstance(port, bool) else None,
        ),
    )


def _viewing(reveals: Sequence[Reveal]) -> tuple[bool, bool, str | None]:
    file_seen = any(r.what == "file" for r in reveals)
    exif_seen = any(r.what == "exif" for r in reveals)
    if exif_seen and not file_seen:
        return (
            False,
            False,
            "The EXIF metadata of this file was viewed by the ESP; the file was not.",
        )
    return file_seen, exif_seen, None


def _name(item: CaseItem, ev: EvidenceRecord) -> str:
    ext = mimetypes.guess_extension(ev.content_type.split(";")[0].strip()) or ".bin"
    return f"item-{item.id}{'.jpg' if ext == '.jpe' else ext}"


def _str(p: Mapping[str, Any], key: str) -> str | None:
    v = p.get(key)
    return v if isinstance(v, str) and v else None


def build_package(
    rec: CaseRecord,
    config: ReporterConfig,
    evidence: EvidenceSource,
    *,
    actor: str,
    role: str = "admin",
    now: datetime | None = None,
) -> ReportPackage:
    """The report and its files for ``rec``; ``ReportingError`` naming what is missing."""
    now = now or datetime.now(UTC)
    case = rec.case
    if case.state is not CaseState.ACTIONED:
        raise ReportingError(
            f"case {case.id} is {case.state.value}, not actioned: only a case a reviewer "
            "confirmed as a violation can be reported (triage is not proof)"
        )
    case_decision, per_item = _item_decisions(rec)
    violations = [d for d in rec.decisions if d.outcome is Outcome.VIOLATION]
    if not violations:
        raise ReportingError(f"case {case.id} has no violation decision to report")
    lead = case_decision if case_decision and case_decision.outcome is Outcome.VIOLATION else None
    lead = lead or _latest(violations)
    assert lead is not None
    files: list[PackageFile] = []
    notes: list[str] = []
    without_content: list[str] = []
    users: list[str] = []
    urls: list[str] = []
    stamps: list[datetime] = []
    for item in sorted(rec.items, key=lambda i: i.id):
        decision = per_item.get(item.id) or case_decision
        if decision is None or decision.outcome is not Outcome.VIOLATION:
            notes.append(f"item {item.id}: not decided as a violation, left out")
            continue
        if item.occurred_at is not None:
            stamps.append(item.occurred_at)
        if (url := _str(item.provenance, "url")) and url not in urls:
            urls.append(url)
        if (user := _str(item.provenance, "user_id")) and user not in users:
            users.append(user)
        if item.evidence_id is None:
            hashes = ", ".join(f"{k}:{v}" for k, v in sorted(item.hashes.items()))
            without_content.append(f"item {item.id} ({hashes or 'no hashes'})")
            notes.append(f"item {item.id}: no content was kept, reported by hash only")
            continue
        files.append(_file(rec, item, decision, config, evidence, actor=actor, role=role))
    if not files and not without_content:
        raise ReportingError(f"case {case.id}: no item was decided as a violation")
    itype, annotations = _incident(lead.reason_code, config.default_incident_type)
    when = min(stamps) if stamps else case.created_at
    details: list[InternetDetail] = []
    if urls:
        details.append(WebPageIncident(urls=tuple(urls)))
    elif case.subject.kind is SubjectKind.CONVERSATION:
        details.append(ChatImIncident(chat_client=config.platform))
    subject_user = case.subject.id if case.subject.kind is SubjectKind.USER else None
    reported_id = subject_user or (users[0] if users else None)
    person = None
    if reported_id is not None:
        events = tuple(e for i in rec.items for e in _ip_events(i))
        person = UserDetails(
            esp_identifier=reported_id, esp_service=config.platform, ip_capture_events=events
        )
    info = [f"Case {case.id} ({case.subject.kind.value} {case.subject.id}) in {case.tenant}."]
    if without_content:
        info.append("Reported by hash only (content not kept): " + "; ".join(without_content))
    report = Report(
        incident_summary=IncidentSummary(
            incident_type=itype,
            incident_date_time=min(when, now),
            platform=config.platform,
            annotations=annotations,
        ),
        reporter=config.reporter,
        internet_details=tuple(details),
        person_or_user_reported=person,
        additional_info=" ".join(info),
    )
    return ReportPackage(case.tenant, case.id, report, tuple(files), tuple(notes))


def _file(
    rec: CaseRecord,
    item: CaseItem,
    decision: Decision,
    config: ReporterConfig,
    evidence: EvidenceSource,
    *,
    actor: str,
    role: str,
) -> PackageFile:
    tenant = rec.case.tenant
    assert item.evidence_id is not None
    evidence_id = item.evidence_id
    ev = evidence.record(tenant, evidence_id)
    if ev.destroyed_at is not None:
        raise ReportingError(f"item {item.id}: its evidence {evidence_id} was destroyed")
    ours = item.hashes.get("sha256")
    if ours is not None and ours.lower() != ev.sha256.lower():
        raise ReportingError(
            f"item {item.id}: evidence {evidence_id} is not the item as received "
            f"(sha256 {ev.sha256} vs {ours})"
        )
    viewed, exif, note = _viewing(rec.reveals.get(item.id, ()))
    genai = decision.generative_ai or decision.reason_code == "aig_csam" or item.generative_ai
    industry = decision.industry_class
    hashes = tuple(
        OriginalFileHash(value, _HASH_TYPES.get(kind, kind.upper()))
        for kind, value in sorted(item.hashes.items())
    )
    public = item.provenance.get("publicly_available")
    name = _name(item, ev)
    details = FileDetails(
        file_name=name,
        original_file_name=_str(item.provenance, "filename"),
        uploaded_to_esp_timestamp=item.occurred_at,
        location_of_file=_str(item.provenance, "url"),
        file_viewed_by_esp=viewed,
        exif_viewed_by_esp=exif,
        publicly_available=public if isinstance(public, bool) else None,
        file_relevance=FileRelevance.REPORTED,
        annotations=frozenset({FileAnnotation.GENERATIVE_AI}) if genai else frozenset(),
        industry_classification=(
            IndustryClassification(industry.value) if industry is not None else None
        ),
        original_file_hashes=hashes,
        ip_capture_events=_ip_events(item),
        additional_info=note,
    )
    planned = PlannedFile(item.id, name, evidence_id, ev.size, ev.md5, ev.sha256)

    def load() -> bytes:
        return evidence.read(tenant, evidence_id, actor=actor, role=role)

    return PackageFile(planned, details, load)
