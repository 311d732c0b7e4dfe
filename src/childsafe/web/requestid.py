"""Request ids: take the caller's ``X-Request-ID`` when it is sane, otherwise make one.

The id is the key of the decision-log entry a screening call writes, so a platform that
sends its own ids can find its decisions again; it is echoed on every response (errors
included) so one id ties a client's log, the server's log and the decision log together.
"Sane" is short and plain (a letter or digit, then letters, digits and ``._:-``, at most
128 in all, the same rule the screener applies): anything else could be a log-injection
attempt, and is replaced rather than refused, because a bad tracing header should not
fail a safety check.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")


def sane_request_id(raw: str | None) -> str | None:
    """``raw`` if it is usable as a request id, else None."""
    if raw is not None and _SANE.fullmatch(raw):
        return raw
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI middleware: sets ``request.state.request_id`` and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                raw = value.decode("latin-1")
                break
        rid = sane_request_id(raw) or new_request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)
