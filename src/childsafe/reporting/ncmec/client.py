"""An HTTP client of the CyberTipline Reporting API (``/ispws``).

Every call answers XML with a ``responseCode``; any code but 0 becomes
:class:`~childsafe.errors.ReportRejected` carrying it, so callers branch on ``exc.code``
(5102 "already finished" is how :mod:`~childsafe.reporting.ncmec.filing` avoids filing
twice). Authentication is HTTP Basic with NCMEC-issued credentials; the password is never
part of an error message or a log line.

Retries: only where repeating cannot do harm or is needed to find out — a network error
(connection refused or reset, a timeout, a response cut off) and code 1000 (NCMEC's server
error) are retried with exponential backoff. 2000/3000 (credentials), 4100 (validation),
5001 and 5102 are answers, never retried. A retried ``submit`` may leave an orphan report
open at NCMEC if the first request did arrive; NCMEC deletes an unfinished report an hour
after its last change, and only a *finished* report reaches an analyst, so the orphan is
harmless. A retried ``finish`` whose first attempt did finish answers 5102, which the filing
flow records as finished.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import httpx

from childsafe.errors import ReportingError, ReportRejected
from childsafe.reporting.ncmec.model import FileDetails, Report
from childsafe.reporting.ncmec.xml import (
    Response,
    parse_response,
    render_file_details,
    render_report,
)


class Environment(StrEnum):
    TEST = "test"  # NCMEC discards reports filed here
    PRODUCTION = "production"


BASE_URLS = {
    Environment.TEST: "https://exttest.cybertip.org/ispws",
    Environment.PRODUCTION: "https://report.cybertip.org/ispws",
}

# Codes the API documents, and what each means for whoever reads the error.
CODES = {
    1000: "server error at NCMEC",
    2000: "authentication required: check the CyberTipline username and password",
    3000: "not authorised for this operation",
    4100: "validation failed",
    5001: "report not found (never opened, retracted, or expired after an hour unchanged)",
    5102: "report already finished",
}
SERVER_ERROR = 1000
_XML = {"Content-Type": "text/xml; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Uploaded:
    file_id: str
    md5: str  # NCMEC's MD5 of what it received; checked against ours


@dataclass(frozen=True, slots=True)
class Finished:
    report_id: str
    file_ids: tuple[str, ...]


class CyberTiplineClient:
    """One environment, one set of credentials; use as a context manager or ``close()``."""

    def __init__(
        self,
        username: str,
        password: str,
        *,
        environment: Environment | str = Environment.TEST,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not username or not password:
            raise ReportingError("CyberTipline credentials are missing (username and password)")
        try:
            self.environment = Environment(environment)
        except ValueError:
            raise ReportingError(
                f"unknown CyberTipline environment {environment!r}: 'test' or 'production'"
            ) from None
        self.base_url = (base_url or BASE_URLS[self.environment]).rstrip("/")
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            timeout=timeout_s,
            transport=transport,
            headers={"User-Agent": "childsafe-cybertipline/1"},
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the API -----------------------------------------------------------------------------

    def status(self) -> Response:
        """``GET /status``: reachable and the credentials work (else 2000/3000)."""
        return self._call("GET", "/status", "status")

    def submit(self, report: Report) -> str:
        """``POST /submit``: open a report; NCMEC's report id."""
        body = render_report(report)
        res = self._call("POST", "/submit", "submit", content=body, headers=_XML)
        if not res.report_id:
            raise ReportingError("CyberTipline submit answered success without a reportId")
        return res.report_id

    def upload(self, report_id: str, name: str, data: bytes) -> Uploaded:
        """``POST /upload`` (multipart ``id`` + ``file``): NCMEC's file id and MD5."""
        res = self._call(
            "POST",
            "/upload",
            f"upload of {name!r} to report {report_id}",
            data={"id": report_id},
            files={"file": (name, data, "application/octet-stream")},
        )
        if not res.file_id:
            raise ReportingError(f"CyberTipline upload of {name!r} answered without a fileId")
        ours = hashlib.md5(data).hexdigest()
        if res.hash is not None and res.hash.lower() != ours:
            raise ReportingError(
                f"CyberTipline upload of {name!r}: NCMEC's MD5 {res.hash} is not ours "
                f"({ours}); the file was changed in transit"
            )
        return Uploaded(res.file_id, (res.hash or ours).lower())

    def fileinfo(self, details: FileDetails) -> None:
        """``POST /fileinfo``: the details of one uploaded file."""
        body = render_file_details(details)
        what = f"fileinfo of file {details.file_id} in report {details.report_id}"
        self._call("POST", "/fileinfo", what, content=body, headers=_XML)

    def finish(self, report_id: str) -> Finished:
        """``POST /finish``: the report goes to NCMEC's analysts (and preservation starts)."""
        res = self._call("POST", "/finish", f"finish of report {report_id}", data={"id": report_id})
        return Finished(res.report_id or report_id, res.file_ids)

    def retract(self, report_id: str) -> None:
        """``POST /retract``: cancel an unfinished report (5102 if it had finished)."""
        self._call("POST", "/retract", f"retract of report {report_id}", data={"id": report_id})

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Response:
        url = self.base_url + path
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                http = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                last = ReportingError(f"CyberTipline {what}: {type(exc).__name__}: {exc}")
                continue
            res = _response(http, what)
            if res.code == 0:
                return res
            error = _rejected(res, what)
            if res.code != SERVER_ERROR:
                raise error
            last = error
        assert last is not None
        if isinstance(last, ReportRejected):
            raise last
        raise ReportingError(f"{last} (after {self.attempts} attempts)")


def _response(http: httpx.Response, what: str) -> Response:
    try:
        return parse_response(http.content)
    except ReportingError:
        if http.status_code == 401:
            return Response(2000, "HTTP 401")
        if http.status_code == 403:
            return Response(3000, "HTTP 403")
        if http.status_code >= 500:
            return Response(SERVER_ERROR, f"HTTP {http.status_code}")
        raise ReportingError(
            f"CyberTipline {what}: HTTP {http.status_code} without a CyberTipline response"
        ) from None


def _rejected(res: Response, what: str) -> ReportRejected:
    meaning = CODES.get(res.code, "unknown response code")
    detail = f": {res.description}" if res.description else ""
    return ReportRejected(f"CyberTipline {what}: {res.code} {meaning}{detail}", code=res.code)
