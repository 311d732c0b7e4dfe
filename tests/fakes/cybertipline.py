"""A fake of NCMEC's CyberTipline Reporting API (``/ispws``) on 127.0.0.1.

It follows the public API documentation and the facts in docs/reporting.md: HTTP Basic auth
(missing or wrong credentials answer 2000 with HTTP 401; a user in ``unauthorised`` answers
3000 with HTTP 403), ``GET /status``, ``POST /submit`` (the ``<report>`` XML: children in XSD
order, ``incidentType`` one of the enumerated values, ``incidentDateTime`` present and not in
the future, a reporting person with an email; otherwise 4100 with a message saying what is
wrong), ``POST /upload`` (multipart ``id`` + ``file``: a fresh ``fileId`` and the MD5 of the
bytes as ``hash``), ``POST /fileinfo`` (``<fileDetails>`` in order; the file must belong to the
report; ``exifViewedByEsp`` true needs ``fileViewedByEsp`` true; only a Reported file may
carry an industry classification), ``POST /finish`` (``<reportDoneResponse>``), ``POST
/retract``; 5001 for a report it does not know (or retracted), 5102 for one already finished.

Scripting: :meth:`FakeCyberTipline.fail_next_code` answers the next requests with a response
code (1000 server error, ...); ``lose_finish_responses = n`` finishes the next *n* reports
but drops the connection instead of answering, as a network failure after NCMEC committed
would. ``reports`` holds what it received (element names and ids, no content is ever sent in
tests: files are small generated images or bytes).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from tests.fakes import FakeServer, Recorded, Reply, _handler_for, _Server, parse_form

INCIDENT_TYPES = frozenset(
    {
        "Child Pornography (possession, manufacture, and distribution)",
        "Child Sex Trafficking",
        "Child Sex Tourism",
        "Child Sexual Molestation",
        "Misleading Domain Name",
        "Misleading Words or Digital Images on the Internet",
        "Online Enticement of Children for Sexual Acts",
        "Unsolicited Obscene Material Sent to a Child",
    }
)
_PERSON = ["firstName", "lastName", "phone", "email", "age"]
_IP = ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"]
_USER = [
    "@person",
    "espIdentifier",
    "espService",
    "compromisedAccount",
    "screenName",
    "displayName",
    "profileUrl",
    "profileBio",
    "ipCaptureEvent",
    "deviceId",
    "thirdPartyUserReported",
    "priorCTReports",
    "groupIdentifier",
    "accountTemporarilyDisabled",
    "accountPermanentlyDisabled",
    "estimatedLocation",
    "schoolName",
    "additionalInfo",
]
ORDER: dict[str, list[str]] = {
    "report": [
        "incidentSummary",
        "internetDetails",
        "lawEnforcement",
        "reporter",
        "personOrUserReported",
        "intendedRecipient",
        "victim",
        "additionalInfo",
    ],
    "incidentSummary": [
        "incidentType",
        "platform",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ],
    "reporter": [
        "reportingPerson",
        "contactPerson",
        "companyTemplate",
        "termsOfService",
        "legalURL",
    ],
    "reportingPerson": _PERSON,
    "contactPerson": _PERSON,
    "ipCaptureEvent": _IP,
    "personOrUserReported": _USER,
    "intendedRecipient": _USER,
    "victim": _USER,
    "fileDetails": [
        "reportId",
        "fileId",
        "fileName",
        "originalFileName",
        "uploadedToEspTimestamp",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "ipCaptureEvent",
        "deviceId",
        "details",
        "additionalInfo",
    ],
}
INTERNET_VARIANTS = frozenset(
    {
        "webPageIncident",
        "emailIncident",
        "newsgroupIncident",
        "chatImIncident",
        "onlineGamingIncident",
        "cellPhoneIncident",
        "nonInternetIncident",
        "peer2peerIncident",
    }
)
DROP = object()  # a reply body meaning: close the connection without answering


class Invalid(Exception):
    """A 4100 validation failure; the message says what is wrong."""


@dataclass
class FakeReport:
    id: str
    user: str
    elements: list[str]  # the <report>'s child tags, in order
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # fileId -> name, md5, ...
    finished: bool = False
    retracted: bool = False


def _response(
    code: int, description: str = "", root: str = "reportResponse", **extra: Any
) -> bytes:
    parts = [f"<responseCode>{code}</responseCode>"]
    if root == "reportResponse":
        parts.append(f"<responseDescription>{escape(description)}</responseDescription>")
    for tag, value in extra.items():
        if tag == "files":
            parts.append("<files>" + "".join(f"<fileId>{v}</fileId>" for v in value) + "</files>")
        elif value is not None:
            parts.append(f"<{tag}>{escape(str(value))}</{tag}>")
    body = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{root}>{"".join(parts)}</{root}>'
    )
    return body.encode()


def check_order(el: ET.Element, path: str = "") -> None:
    """Children in XSD order (repeats allowed), recursively where the order is known."""
    path = f"{path}/{el.tag}" if path else el.tag
    spec = ORDER.get(el.tag)
    if spec is None:
        return
    last = -1
    for child in el:
        tag = child.tag
        key = "@person" if tag.endswith("Person") and "@person" in spec else tag
        if key not in spec:
            raise Invalid(f"{path}: unexpected element <{tag}>")
        pos = spec.index(key)
        if pos < last:
            raise Invalid(f"{path}: <{tag}> is out of order (after <{spec[last]}>)")
        last = pos
        check_order(child, path)


def _parse(body: bytes, root: str) -> ET.Element:
    try:
        el = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Invalid(f"not well-formed XML: {exc}") from None
    if el.tag != root:
        raise Invalid(f"expected <{root}>, got <{el.tag}>")
    check_order(el)
    return el


def _when(text: str | None, path: str) -> datetime:
    if not text:
        raise Invalid(f"{path} is required")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{path}: {text!r} is not an xs:dateTime") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if dt > datetime.now(UTC):
        raise Invalid(f"{path}: {text} is in the future")
    return dt


def validate_report(el: ET.Element) -> None:
    summary = el.find("incidentSummary")
    if summary is None:
        raise Invalid("report/incidentSummary is required")
    itype = summary.findtext("incidentType")
    if itype not in INCIDENT_TYPES:
        raise Invalid(f"report/incidentSummary/incidentType: {itype!r} is not an incident type")
    _when(summary.findtext("incidentDateTime"), "report/incidentSummary/incidentDateTime")
    for details in el.findall("internetDetails"):
        kids = [c.tag for c in details]
        if len(kids) != 1 or kids[0] not in INTERNET_VARIANTS:
            raise Invalid(f"report/internetDetails must hold exactly one incident, got {kids}")
    email = el.findtext("reporter/reportingPerson/email")
    if not email:
        raise Invalid("report/reporter/reportingPerson/email is required")


def validate_file_details(el: ET.Element) -> None:
    viewed = el.findtext("fileViewedByEsp")
    exif = el.findtext("exifViewedByEsp")
    if exif == "true" and viewed != "true":
        raise Invalid("fileDetails/exifViewedByEsp is true but fileViewedByEsp is not")
    relevance = el.findtext("fileRelevance")
    if relevance is not None and relevance not in ("Reported", "Supplemental Reported"):
        raise Invalid(f"fileDetails/fileRelevance: {relevance!r}")
    cls = el.findtext("industryClassification")
    if cls is not None:
        if relevance != "Reported":
            raise Invalid("fileDetails/industryClassification needs fileRelevance Reported")
        if cls not in ("A1", "A2", "B1", "B2"):
            raise Invalid(f"fileDetails/industryClassification: {cls!r}")
    for h in el.findall("originalFileHash"):
        if not h.get("hashType"):
            raise Invalid("fileDetails/originalFileHash needs a hashType")
    stamp = el.findtext("uploadedToEspTimestamp")
    if stamp is not None:
        _when(stamp, "fileDetails/uploadedToEspTimestamp")


class FakeCyberTipline(FakeServer):
    """``base_url`` is ``{origin}/ispws``; credentials ``username``/``password``."""

    def __init__(self, username: str = "esp-test", password: str = "fake-pass-0123456789") -> None:
        super().__init__(api_key=password)
        self.username = username
        self.password = password
        self.unauthorised: set[str] = set()
        self.reports: dict[str, FakeReport] = {}
        self.lose_finish_responses = 0
        self._ids = itertools.count(880001)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/ispws"

    @property
    def finished(self) -> list[FakeReport]:
        return [r for r in self.reports.values() if r.finished]

    def fail_next_code(self, code: int, count: int = 1) -> None:
        """Answer the next ``count`` requests with response ``code`` (HTTP 200)."""
        body = _response(code, f"scripted failure {code}")
        with self._lock:
            self._script.extend([Reply(200, body)] * count)

    def error_body(self, status: int, message: str = "") -> Any:
        return _response(1000, message or f"HTTP {status}")

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> FakeCyberTipline:
        base = _handler_for(self)
        fake = self

        class Handler(base):  # type: ignore[valid-type,misc]
            server_version = "fake-cybertipline/1"

            def do_GET(self) -> None:  # noqa: N802 - http.server names it
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._send(fake._respond(Recorded("GET", self.path, headers, b"")))

            def _send(self, reply: Reply) -> None:
                if reply.body is DROP:
                    self.close_connection = True
                    return
                raw = reply.body if isinstance(reply.body, bytes) else b""
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def _user(self, request: Recorded) -> tuple[str | None, Reply | None]:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return None, Reply(401, _response(2000, "Authentication required"))
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, Reply(401, _response(2000, "Authentication required"))
        if user != self.username or pw != self.password:
            return None, Reply(401, _response(2000, "Authentication required"))
        if user in self.unauthorised:
            return None, Reply(403, _response(3000, "Not authorized"))
        return user, None

    def handle(self, request: Recorded) -> Reply:
        user, denied = self._user(request)
        if denied is not None:
            return denied
        assert user is not None
        route = {
            ("GET", "/ispws/status"): self._status,
            ("POST", "/ispws/submit"): self._submit,
            ("POST", "/ispws/upload"): self._upload,
            ("POST", "/ispws/fileinfo"): self._fileinfo,
            ("POST", "/ispws/finish"): self._finish,
            ("POST", "/ispws/retract"): self._retract,
        }.get((request.method, request.path))
        if route is None:
            return Reply(404, _response(1000, f"no route {request.method} {request.path}"))
        try:
            return route(request, user)
        except Invalid as exc:
            return Reply(200, _response(4100, f"Validation failed: {exc}"))

    def _status(self, request: Recorded, user: str) -> Reply:
        return Reply(200, _response(0, f"Remote User : {user}"))

    def _submit(self, request: Recorded, user: str) -> Reply:
        el = _parse(request.body, "report")
        validate_report(el)
        rid = str(next(self._ids))
        with self._lock:
            self.reports[rid] = FakeReport(rid, user, [c.tag for c in el])
        return Reply(200, _response(0, "Success", reportId=rid))

    def _open_report(self, rid: str | None) -> FakeReport | Reply:
        report = self.reports.get(rid or "")
        if report is None or report.retracted:
            return Reply(200, _response(5001, "Report does not exist", reportId=rid))
        if report.finished:
            return Reply(200, _response(5102, "Report already finished", reportId=rid))
        return report

    def _form_id(self, request: Recorded) -> str | None:
        try:
            form = parse_form(request)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        raw = form.get("id")
        return raw[0].decode() if raw else None

    def _upload(self, request: Recorded, user: str) -> Reply:
        try:
            form = parse_form(request)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        if "id" not in form or "file" not in form:
            raise Invalid("upload needs the fields id and file")
        rid = form["id"][0].decode()
        found = self._open_report(rid)
        if isinstance(found, Reply):
            return found
        data, name = form["file"]
        file_id = uuid.uuid4().hex
        md5 = hashlib.md5(data).hexdigest()
        with self._lock:
            found.files[file_id] = {"name": name, "md5": md5, "size": len(data), "details": None}
        return Reply(200, _response(0, "Success", reportId=rid, fileId=file_id, hash=md5))

    def _fileinfo(self, request: Recorded, user: str) -> Reply:
        el = _parse(request.body, "fileDetails")
        rid, file_id = el.findtext("reportId"), el.findtext("fileId")
        if not rid or not file_id:
            raise Invalid("fileDetails/reportId and fileDetails/fileId are required")
        found = self._open_report(rid)
        if isinstance(found, Reply):
            return found
        if file_id not in found.files:
            raise Invalid(f"fileDetails/fileId {file_id} is not a file of report {rid}")
        validate_file_details(el)
        with self._lock:
            found.files[file_id]["details"] = {c.tag: (c.text or "") for c in el}
            found.files[file_id]["hashes"] = {
                h.get("hashType"): h.text for h in el.findall("originalFileHash")
            }
            found.files[file_id]["annotations"] = [c.tag for c in el.findall("fileAnnotations/*")]
        return Reply(200, _response(0, "Success", reportId=rid))

    def _finish(self, request: Recorded, user: str) -> Reply:
        rid = self._form_id(request)
        found = self._open_report(rid)
        if isinstance(found, Reply):
            return found
        with self._lock:
            found.finished = True
            lose = self.lose_finish_responses > 0
            if lose:
                self.lose_finish_responses -= 1
        if lose:
            return Reply(200, DROP)
        body = _response(0, root="reportDoneResponse", reportId=rid, files=list(found.files))
        return Reply(200, body)

    def _retract(self, request: Recorded, user: str) -> Reply:
        rid = self._form_id(request)
        found = self._open_report(rid)
        if isinstance(found, Reply):
            return found
        with self._lock:
            found.retracted = True
        return Reply(200, _response(0, "Success", reportId=rid))
