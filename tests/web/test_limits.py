"""Body-size limit (413 before the body is read), request ids, and the token bucket."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from tests.web.helpers import BENIGN, Headers, error_of

from childsafe.web.limits import BodyLimitMiddleware, RateLimiter
from childsafe.web.requestid import RequestIdMiddleware, sane_request_id

LIMIT = 1024  # the smallest max_request_bytes the settings allow


@pytest.fixture
def small(make_app: Callable[..., TestClient]) -> TestClient:
    return make_app(max_request_bytes=LIMIT)


def test_declared_oversized_body_gets_413(small: TestClient, admin: Headers) -> None:
    r = small.post("/v1/screen/text", json={"text": "x" * 2 * LIMIT}, headers=admin)
    assert r.status_code == 413
    err = error_of(r)
    assert err["code"] == "payload_too_large" and str(LIMIT) in err["message"]
    assert "xxxx" not in r.text
    ok = small.post("/v1/screen/text", json={"text": BENIGN}, headers=admin)
    assert ok.status_code == 200


def test_streamed_oversized_upload_gets_413(small: TestClient, admin: Headers) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(8):
            yield b"\x00" * 512

    r = small.post(
        "/v1/screen/image",
        content=chunks(),
        headers={**admin, "content-type": "application/octet-stream"},
    )
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


async def _asgi_call(
    app: object, headers: list[tuple[bytes, bytes]], body: list[bytes]
) -> tuple[list[Message], int]:
    """Run one HTTP request through a bare ASGI app; returns what it sent and chunks read."""
    pending = [
        {"type": "http.request", "body": b, "more_body": i < len(body) - 1}
        for i, b in enumerate(body)
    ]
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await app(scope, receive, send)  # type: ignore[operator]
    return sent, read


async def _reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("declared", [True, False])
def test_middleware_refuses_before_reading_everything(declared: bool) -> None:
    import anyio

    app = RequestIdMiddleware(BodyLimitMiddleware(_reads_everything, max_bytes=100))
    body = [b"x" * 60] * 10
    headers = [(b"content-length", b"600")] if declared else []
    sent, read = anyio.run(_asgi_call, app, headers, body)
    assert sent[0]["status"] == 413
    assert read == (0 if declared else 2)  # refused on the chunk that crossed the limit


def test_request_id_sanity() -> None:
    assert sane_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in (None, "", "a b", "x" * 129, "-leading", "line\nbreak", "ü"):
        assert sane_request_id(bad) is None


def test_token_bucket_refills_at_the_per_minute_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one a second, bursts of 60
    assert all(limiter.take("k") == 0 for _ in range(60))
    assert limiter.take("k") == 1
    assert limiter.take("other") == 0
    now[0] += 0.5
    assert limiter.take("k") == 1  # half a token is not a token
    now[0] += 0.5
    assert limiter.take("k") == 0
    slow = RateLimiter(2, clock=lambda: now[0])
    slow.take("k"), slow.take("k")
    assert slow.take("k") == 30
