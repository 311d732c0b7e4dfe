"""Fake vendor servers for the external-classifier adapters (STYLE 18).

Each fake is a real HTTP server on 127.0.0.1 (an ephemeral port, a background thread), so the
adapters are tested through real sockets, headers, multipart bodies, status codes and
timeouts, not a mocked client. A fake follows its vendor's published request and response
shapes, checks the API key, answers 400 to a malformed body and 413 to an oversized one, and
scores by simple deterministic rules on the input (:func:`minor_mention`, :func:`sexual_term`,
:func:`image_means`) so tests can assert results. Failures are scripted with
:meth:`FakeServer.fail_next` (e.g. two 503s, then a 429 with ``Retry-After``) and slowness
with ``delay_s``. Every request is recorded (path, headers, body) for assertions such as "one
request for the whole text batch" or "the corrupt image was never sent".

All texts the rules look at are mild and clinical: a minor mention and a mild adult-only term.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from PIL import Image

_MINOR = re.compile(
    r"\b(?:(?:[1-9]|1[0-7])[ -]?(?:years?|yrs?)[ -]?old|child|children|kid|kids|minor|"
    r"minors|teen|teens|teenager|underage|schoolgirl|schoolboy)\b",
    re.IGNORECASE,
)
_SEXUAL = re.compile(r"\b(?:nsfw|nude|nudes|lingerie|sexy|erotic|intimate)\b", re.IGNORECASE)


def minor_mention(text: str) -> bool:
    """Whether ``text`` mentions a minor (an age under 18, "child", "teen", ...)."""
    return _MINOR.search(text) is not None


def sexual_term(text: str) -> bool:
    """Whether ``text`` has one of the mild adult-only terms the fakes react to."""
    return _SEXUAL.search(text) is not None


def image_means(data: bytes) -> tuple[float, float, float, float]:
    """Mean red, green, blue and luma of an image, each in 0-1; ``ValueError`` if not one."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
    except Exception as exc:
        raise ValueError(f"not an image: {type(exc).__name__}") from None
    n = rgb.width * rgb.height
    sums = [sum(i * c for i, c in enumerate(rgb.getchannel(b).histogram())) for b in "RGB"]
    r, g, b = (s / n / 255 for s in sums)
    return r, g, b, 0.299 * r + 0.587 * g + 0.114 * b


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What the fake answers: status, JSON (or raw bytes) body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """Base of the vendor fakes: subclasses implement :meth:`handle` for one request."""

    def __init__(
        self, api_key: str = "fake-key-0123456789", *, max_body_bytes: int = 4 * 1024 * 1024
    ) -> None:
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.delay_s = 0.0
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in delay_s
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- scripting -----------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        retry_after: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (before any other check)."""
        headers = dict(headers or {})
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        reply = Reply(status, body if body is not None else self.error_body(status), headers)
        with self._lock:
            self._script.extend([reply] * count)

    def error_body(self, status: int, message: str = "") -> Any:
        """The vendor's error body for ``status``; subclasses use their vendor's shape."""
        return {"message": message or f"HTTP {status}"}

    # -- serving -------------------------------------------------------------------------

    def handle(self, request: Recorded) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def _respond(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if scripted is not None:
                return scripted
            if self.delay_s and self._stop.wait(self.delay_s):
                return Reply(503, self.error_body(503, "shutting down"))
            return self.handle(request)
        finally:
            with self._lock:
                self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is normal here, not a traceback."""


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-vendor/1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > fake.max_body_bytes:
                self._drain(length)
                self._send(Reply(413, fake.error_body(413, "request entity too large")))
                return
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(fake._respond(Recorded("POST", self.path, headers, body)))

        def do_GET(self) -> None:
            self._send(Reply(405, fake.error_body(405, "method not allowed")))

        def _drain(self, length: int) -> None:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)

        def _send(self, reply: Reply) -> None:
            raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``fake.requests`` instead."""

    return Handler


def parse_form(request: Recorded) -> dict[str, tuple[bytes, str | None]]:
    """A multipart or urlencoded form: field name -> (value bytes, filename or None).

    Raises ``ValueError`` on a body that is not a form.
    """
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qsl

        pairs = parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=False)
        return {k: (v.encode(), None) for k, v in pairs}
    if not ctype.startswith("multipart/form-data"):
        raise ValueError(f"expected a form, got Content-Type {ctype or 'none'}")
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise ValueError("malformed multipart body")
    fields: dict[str, tuple[bytes, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part has no name")
        payload = part.get_payload(decode=True)
        fields[name] = (payload if isinstance(payload, bytes) else b"", part.get_filename())
    return fields
