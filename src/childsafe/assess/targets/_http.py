"""HTTP plumbing the targets share: one POST with timeouts, retries and safe error strings.

Why retry here and not in the runner: only the target knows what a failure means (a 429 is
worth waiting for, a 400 is not), and ``attempts`` on the response records how hard it was.
Backoff doubles from ``backoff_s`` and honours ``Retry-After``, both capped, and has no
jitter so tests and reruns behave the same.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from childsafe.errors import AssessError

RETRY_STATUS = frozenset({408, 409, 425, 429})
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """How hard a target tries: per-attempt timeout, retries after the first attempt."""

    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise AssessError(f"timeout must be positive, got {self.timeout_s}")
        if self.retries < 0:
            raise AssessError(f"retries must be 0 or more, got {self.retries}")

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        wait = self.backoff_s * 2.0 ** (attempt - 1)
        if retry_after:
            wait = max(wait, _retry_after_s(retry_after))
        return max(0.0, min(wait, self.max_backoff_s))


@dataclass(frozen=True, slots=True)
class Attempted:
    """The outcome of a POST after retries: a response (any status) or an error string."""

    response: httpx.Response | None
    error: str | None
    attempts: int
    latency_ms: float


def post(
    client: httpx.Client,
    url: str,
    options: RequestOptions,
    *,
    json: Any,
    headers: dict[str, str] | None = None,
) -> Attempted:
    """POST with retries; 2xx and non-retryable 4xx come back as responses, the rest as errors.

    Never raises for the network: connection failures and timeouts become the error string
    once retries are spent.
    """
    attempt = 0
    while True:
        attempt += 1
        start = time.perf_counter()
        retry_after: str | None = None
        try:
            resp = client.post(url, json=json, headers=headers, timeout=options.timeout_s)
            resp.read()
        except httpx.TimeoutException:
            error = f"timeout after {options.timeout_s:g}s"
        except httpx.TransportError as exc:
            error = f"connection failed: {type(exc).__name__}"
        else:
            latency = (time.perf_counter() - start) * 1000
            if resp.status_code < 500 and resp.status_code not in RETRY_STATUS:
                return Attempted(resp, None, attempt, latency)
            error = http_error(resp)
            retry_after = resp.headers.get("retry-after")
        latency = (time.perf_counter() - start) * 1000
        if attempt > options.retries:
            return Attempted(None, error, attempt, latency)
        time.sleep(options.delay(attempt, retry_after))


def http_error(resp: httpx.Response) -> str:
    """``HTTP 400 (invalid_request_error)``: the status and the vendor's error code, never its
    message (an OpenAI 401 message quotes the key it was given)."""
    code = error_code(resp)
    return f"HTTP {resp.status_code}" + (f" ({code})" if code else "")


def error_code(resp: httpx.Response) -> str | None:
    """The machine-readable code of an error body (``error.code``, ``error.type``, ``code``)."""
    try:
        body = resp.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    for source in (inner if isinstance(inner, dict) else {}, body):
        for key in ("code", "type"):
            value = source.get(key)
            if isinstance(value, str) and _CODE.match(value):
                return value
    return None


def _retry_after_s(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return when.timestamp() - time.time()
