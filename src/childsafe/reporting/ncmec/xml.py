"""CyberTipline XML: reports and file details out, responses in.

Writing: every element is emitted in XSD sequence order (the order of the dataclass fields in
:mod:`~childsafe.reporting.ncmec.model`), optional values that are ``None`` or empty are left
out, booleans are ``true``/``false`` and timestamps ISO 8601 in UTC with ``Z``. ElementTree
escapes ``& < >`` and quotes; what it would pass through but no XML parser accepts (control
characters, lone surrogates, U+FFFE/U+FFFF) is refused with a :class:`ReportingError` naming
the field, as is a missing required field, a timestamp in the future or a rule of the API
(``exifViewedByEsp`` true needs ``fileViewedByEsp`` true; only a ``Reported`` file may carry
an industry classification or a meme annotation). Validation happens before anything is sent,
so a report NCMEC would reject with 4100 never leaves the machine.

Reading: responses are small, flat documents (``reportResponse``, ``reportDoneResponse``). We
refuse any DTD (no entity expansion from a response) and anything over 1 MiB before parsing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from childsafe.errors import ReportingError
from childsafe.reporting.ncmec.model import (
    Email,
    FileAnnotation,
    FileDetails,
    FileRelevance,
    IncidentSummary,
    InternetDetail,
    IpCaptureEvent,
    LawEnforcement,
    Person,
    Report,
    ReportAnnotation,
    Reporter,
    UserDetails,
)

MAX_RESPONSE_BYTES = 1 << 20
_LIMITS = {
    "escalateToHighPriority": 3000,
    "termsOfService": 3000,
    "originalFileName": 2056,
    "locationOfFile": 2083,
}
# Characters XML 1.0 cannot carry at all (even escaped).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_REPORTED_ONLY = frozenset({FileAnnotation.POTENTIAL_MEME})


def _fail(path: str, problem: str) -> ReportingError:
    return ReportingError(f"CyberTipline report: {path}: {problem}")


def _text(path: str, value: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"expected text, got {type(value).__name__}")
    bad = _ILLEGAL.search(value)
    if bad is not None:
        raise _fail(path, f"character U+{ord(bad.group()):04X} cannot be written in XML")
    name = path.rsplit(".", 1)[-1]
    limit = _LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise _fail(path, f"at most {limit} characters, got {len(value)}")
    return value


def _stamp(path: str, value: datetime, now: datetime) -> str:
    if value.tzinfo is None:
        raise _fail(path, "timestamp without a time zone (give UTC)")
    if value > now:
        raise _fail(path, f"{value.isoformat()} is in the future")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Writer:
    """Appends children in call order, checking values on the way."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def text(self, parent: ET.Element, path: str, tag: str, value: str | None) -> None:
        if value is None or value == "":
            return
        ET.SubElement(parent, tag).text = _text(f"{path}.{tag}", value)

    def texts(self, parent: ET.Element, path: str, tag: str, values: Iterable[str]) -> None:
        for i, value in enumerate(values):
            ET.SubElement(parent, tag).text = _text(f"{path}.{tag}[{i}]", value)

    def flag(self, parent: ET.Element, tag: str, value: bool | None) -> None:
        if value is not None:
            ET.SubElement(parent, tag).text = "true" if value else "false"

    def when(self, parent: ET.Element, path: str, tag: str, value: datetime | None) -> None:
        if value is not None:
            ET.SubElement(parent, tag).text = _stamp(f"{path}.{tag}", value, self.now)

    def person(self, parent: ET.Element, path: str, tag: str, p: Person | None) -> None:
        if p is None:
            return
        el = ET.SubElement(parent, tag)
        path = f"{path}.{tag}"
        self.text(el, path, "firstName", p.first_name)
        self.text(el, path, "lastName", p.last_name)
        for i, phone in enumerate(p.phones):
            ET.SubElement(el, "phone").text = _text(f"{path}.phone[{i}]", phone)
        for i, email in enumerate(p.emails):
            self.email(el, f"{path}.email[{i}]", email)
        if p.age is not None:
            if not 0 <= p.age <= 150:
                raise _fail(f"{path}.age", f"not an age: {p.age}")
            ET.SubElement(el, "age").text = str(p.age)

    def email(self, parent: ET.Element, path: str, email: Email) -> None:
        if "@" not in email.address:
            raise _fail(path, f"not an email address: {email.address!r}")
        el = ET.SubElement(parent, "email")
        el.text = _text(path, email.address)
        if email.verified is not None:
            el.set("verified", "true" if email.verified else "false")

    def ip_events(self, parent: ET.Element, path: str, events: Iterable[IpCaptureEvent]) -> None:
        for i, ev in enumerate(events):
            where = f"{path}.ipCaptureEvent[{i}]"
            if not ev.ip_address:
                raise _fail(f"{where}.ipAddress", "required")
            el = ET.SubElement(parent, "ipCaptureEvent")
            self.text(el, where, "ipAddress", ev.ip_address)
            if ev.event_name is not None:
                ET.SubElement(el, "eventName").text = ev.event_name.value
            self.when(el, where, "dateTime", ev.date_time)
            self.flag(el, "possibleProxy", ev.possible_proxy)
            if ev.port is not None:
                if not 0 < ev.port < 65536:
                    raise _fail(f"{where}.port", f"not a port: {ev.port}")
                ET.SubElement(el, "port").text = str(ev.port)


def _summary(w: _Writer, root: ET.Element, s: IncidentSummary) -> None:
    path = "report.incidentSummary"
    if s.incident_type is None:
        raise _fail(f"{path}.incidentType", "required")
    if s.incident_date_time is None:
        raise _fail(f"{path}.incidentDateTime", "required")
    el = ET.SubElement(root, "incidentSummary")
    ET.SubElement(el, "incidentType").text = s.incident_type.value
    w.text(el, path, "platform", s.platform)
    w.text(el, path, "escalateToHighPriority", s.escalate_to_high_priority)
    if s.annotations:
        ann = ET.SubElement(el, "reportAnnotations")
        for a in ReportAnnotation:  # enum order is XSD order
            if a in s.annotations:
                ET.SubElement(ann, a.value)
    w.when(el, path, "incidentDateTime", s.incident_date_time)
    w.text(el, path, "incidentDateTimeDescription", s.incident_date_time_description)


# Element names of the internetDetails variants' fields where camelCase of the field is not it.
_DETAIL_TAGS = {"urls": "url", "addresses": "emailAddress", "file_names": "fileName"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _internet(w: _Writer, root: ET.Element, i: int, d: InternetDetail) -> None:
    path = f"report.internetDetails[{i}].{d.TAG}"
    outer = ET.SubElement(root, "internetDetails")
    el = ET.SubElement(outer, d.TAG)
    for name in d.__dataclass_fields__:
        value = getattr(d, name)
        tag = _DETAIL_TAGS.get(name, _camel(name))
        if name == "ip_capture_events":
            w.ip_events(el, path, value)
        elif isinstance(value, tuple):
            w.texts(el, path, tag, value)
        elif isinstance(value, bool):
            w.flag(el, tag, value)
        else:
            w.text(el, path, tag, value)


def _law(w: _Writer, root: ET.Element, le: LawEnforcement | None) -> None:
    if le is None:
        return
    path = "report.lawEnforcement"
    if not le.agency_name:
        raise _fail(f"{path}.agencyName", "required when lawEnforcement is given")
    el = ET.SubElement(root, "lawEnforcement")
    w.text(el, path, "agencyName", le.agency_name)
    w.text(el, path, "caseNumber", le.case_number)
    w.person(el, path, "officerContact", le.officer_contact)


def _reporter(w: _Writer, root: ET.Element, r: Reporter | None) -> None:
    path = "report.reporter"
    if r is None or r.reporting_person is None:
        raise _fail(f"{path}.reportingPerson", "required")
    if not r.reporting_person.emails:
        raise _fail(f"{path}.reportingPerson.email", "required: NCMEC contacts the reporter")
    el = ET.SubElement(root, "reporter")
    w.person(el, path, "reportingPerson", r.reporting_person)
    w.person(el, path, "contactPerson", r.contact_person)
    w.text(el, path, "companyTemplate", r.company_template)
    w.text(el, path, "termsOfService", r.terms_of_service)
    w.text(el, path, "legalURL", r.legal_url)


def _user(w: _Writer, root: ET.Element, tag: str, path: str, u: UserDetails) -> None:
    el = ET.SubElement(root, tag)
    w.person(el, path, f"{tag}Person", u.person)
    w.text(el, path, "espIdentifier", u.esp_identifier)
    w.text(el, path, "espService", u.esp_service)
    w.flag(el, "compromisedAccount", u.compromised_account)
    w.text(el, path, "screenName", u.screen_name)
    w.text(el, path, "displayName", u.display_name)
    w.texts(el, path, "profileUrl", u.profile_urls)
    w.text(el, path, "profileBio", u.profile_bio)
    w.ip_events(el, path, u.ip_capture_events)
    w.texts(el, path, "deviceId", u.device_ids)
    w.flag(el, "thirdPartyUserReported", u.third_party_user_reported)
    w.texts(el, path, "priorCTReports", u.prior_ct_reports)
    w.text(el, path, "groupIdentifier", u.group_identifier)
    w.flag(el, "accountTemporarilyDisabled", u.account_temporarily_disabled)
    w.flag(el, "accountPermanentlyDisabled", u.account_permanently_disabled)
    w.text(el, path, "estimatedLocation", u.estimated_location)
    if u.school_name is not None:
        if tag == "personOrUserReported":
            raise _fail(f"{path}.schoolName", "only intendedRecipient and victim carry it")
        w.text(el, path, "schoolName", u.school_name)
    w.text(el, path, "additionalInfo", u.additional_info)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def report_element(report: Report, *, now: datetime | None = None) -> ET.Element:
    """``report`` as a ``<report>`` element, validated (``ReportingError`` names the field)."""
    w = _Writer(_now(now))
    root = ET.Element("report")
    if report.incident_summary is None:
        raise _fail("report.incidentSummary", "required")
    _summary(w, root, report.incident_summary)
    for i, detail in enumerate(report.internet_details):
        _internet(w, root, i, detail)
    _law(w, root, report.law_enforcement)
    _reporter(w, root, report.reporter)
    if report.person_or_user_reported is not None:
        path = "report.personOrUserReported"
        _user(w, root, "personOrUserReported", path, report.person_or_user_reported)
    for i, u in enumerate(report.intended_recipients):
        _user(w, root, "intendedRecipient", f"report.intendedRecipient[{i}]", u)
    for i, u in enumerate(report.victims):
        _user(w, root, "victim", f"report.victim[{i}]", u)
    w.text(root, "report", "additionalInfo", report.additional_info)
    return root


def _check_file_rules(path: str, d: FileDetails) -> None:
    if d.exif_viewed_by_esp and not d.file_viewed_by_esp:
        raise _fail(
            f"{path}.exifViewedByEsp", "true requires fileViewedByEsp true (the API's rule)"
        )
    if d.file_relevance is not FileRelevance.REPORTED:
        if d.industry_classification is not None:
            raise _fail(f"{path}.industryClassification", "only a Reported file may carry one")
        meme = d.annotations & _REPORTED_ONLY
        if meme:
            raise _fail(f"{path}.fileAnnotations", "only a Reported file may be a meme")


def file_details_element(d: FileDetails, *, now: datetime | None = None) -> ET.Element:
    """``d`` as a ``<fileDetails>`` element, validated like :func:`report_element`."""
    w = _Writer(_now(now))
    path = "fileDetails"
    if not d.report_id:
        raise _fail(f"{path}.reportId", "required")
    if not d.file_id:
        raise _fail(f"{path}.fileId", "required")
    _check_file_rules(path, d)
    el = ET.Element("fileDetails")
    w.text(el, path, "reportId", d.report_id)
    w.text(el, path, "fileId", d.file_id)
    w.text(el, path, "fileName", d.file_name)
    w.text(el, path, "originalFileName", d.original_file_name)
    w.when(el, path, "uploadedToEspTimestamp", d.uploaded_to_esp_timestamp)
    w.text(el, path, "locationOfFile", d.location_of_file)
    w.flag(el, "fileViewedByEsp", d.file_viewed_by_esp)
    w.flag(el, "exifViewedByEsp", d.exif_viewed_by_esp)
    w.flag(el, "publiclyAvailable", d.publicly_available)
    if d.file_relevance is not None:
        ET.SubElement(el, "fileRelevance").text = d.file_relevance.value
    if d.annotations:
        ann = ET.SubElement(el, "fileAnnotations")
        for a in FileAnnotation:  # enum order is XSD order
            if a in d.annotations:
                ET.SubElement(ann, a.value)
    if d.industry_classification is not None:
        ET.SubElement(el, "industryClassification").text = d.industry_classification.value
    for i, h in enumerate(d.original_file_hashes):
        where = f"{path}.originalFileHash[{i}]"
        if not h.value or not h.hash_type:
            raise _fail(where, "a hash needs a value and a hashType")
        hel = ET.SubElement(el, "originalFileHash")
        hel.text = _text(where, h.value)
        hel.set("hashType", _text(f"{where}@hashType", h.hash_type))
    w.ip_events(el, path, d.ip_capture_events)
    w.texts(el, path, "deviceId", d.device_ids)
    if d.details:
        for i, pair in enumerate(d.details):
            where = f"{path}.details[{i}]"
            if pair.type not in ("EXIF", "HASH"):
                raise _fail(f"{where}.type", f"EXIF or HASH, not {pair.type!r}")
            det = ET.SubElement(el, "details")
            det.set("type", pair.type)
            nvp = ET.SubElement(det, "nameValuePair")
            w.text(nvp, where, "name", pair.name)
            w.text(nvp, where, "value", pair.value)
    w.text(el, path, "additionalInfo", d.additional_info)
    return el


def _serialise(el: ET.Element) -> bytes:
    data: bytes = ET.tostring(el, encoding="utf-8", xml_declaration=True)
    return data


def render_report(report: Report, *, now: datetime | None = None) -> bytes:
    """The UTF-8 XML document ``POST /submit`` takes."""
    return _serialise(report_element(report, now=now))


def render_file_details(details: FileDetails, *, now: datetime | None = None) -> bytes:
    """The UTF-8 XML document ``POST /fileinfo`` takes."""
    return _serialise(file_details_element(details, now=now))


# -- responses -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """A ``reportResponse`` or ``reportDoneResponse``: code 0 is success."""

    code: int
    description: str = ""
    report_id: str | None = None
    file_id: str | None = None
    hash: str | None = None  # NCMEC's MD5 of an uploaded file
    file_ids: tuple[str, ...] = ()  # reportDoneResponse/files/fileId


def parse_response(body: bytes) -> Response:
    """Parse a response body; ``ReportingError`` if it is not one (never a traceback)."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise ReportingError(f"CyberTipline response over {MAX_RESPONSE_BYTES} bytes: refused")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ReportingError("CyberTipline response with a DTD: refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ReportingError(f"CyberTipline response is not XML: {exc}") from None
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        raise ReportingError(f"unexpected CyberTipline response element <{root.tag}>")

    def child(tag: str) -> str | None:
        el = root.find(tag)
        return (el.text or "").strip() if el is not None else None

    raw = child("responseCode")
    if raw is None or not raw.lstrip("-").isdigit():
        raise ReportingError(f"CyberTipline response without a numeric responseCode: {raw!r}")
    files = tuple((e.text or "").strip() for e in root.findall("files/fileId"))
    return Response(
        code=int(raw),
        description=child("responseDescription") or "",
        report_id=child("reportId"),
        file_id=child("fileId"),
        hash=child("hash"),
        file_ids=files,
    )
