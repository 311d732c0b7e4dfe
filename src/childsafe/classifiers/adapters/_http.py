"""The HTTP plumbing every external-classifier adapter shares.

Vendors fail in a few ways, and each gets one answer here so the three adapters behave alike:

* **Transient** (429, any 5xx, a refused or dropped connection): retried with exponential
  backoff and full jitter (many workers hitting one vendor must not retry in lock-step), at
  most ``RetryPolicy.attempts`` tries. A ``Retry-After`` (or OpenAI's ``retry-after-ms``)
  is obeyed exactly; one longer than ``max_retry_after_s`` is not waited out at all — a
  batch stalled for an hour is worse than a per-item error that a rerun fixes.
* **Final** (any other 4xx, a redirect, a body that is not JSON): no retry, since asking
  again gets the same answer and spends quota.
* **Timeout** waiting for an answer: not retried either. A vendor that is slow now is slow on
  the next try, and retrying would multiply the wait a batch sees by the number of attempts.

Every failure becomes an :class:`ApiError` whose message says what happened and where
("HTTP 401 from https://api.openai.com/v1/moderations: invalid API key"), never the API
key: keys go only into request headers, messages never quote a 401/403 body (OpenAI's echoes
part of the key), and every message is scrubbed of the key before it leaves this module.
URLs are shown without their query string. Redirects are not followed, so a key is never
replayed to another host.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from childsafe.errors import ChildsafeError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_REASONS = {
    401: "invalid API key (rejected by the server)",
    403: "the API key may not use this endpoint",
    404: "endpoint not found (check the base URL)",
    413: "request too large for the vendor",
}
_MAX_DETAIL = 200


class ApiError(ChildsafeError):
    """A call to an external classifier failed; the message is safe to show and to store."""


class Secret:
    """An API key that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for a request header and nothing else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request. Tests pass tiny backoffs and a recording ``sleep``."""

    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.backoff_s < 0 or self.max_backoff_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0.5, 1] x the capped exponential delay of ``attempt``."""
        cap = min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        return cap * rng.uniform(0.5, 1.0)


def public_url(url: str | httpx.URL) -> str:
    """The URL as shown in messages: no query string, no user info."""
    u = httpx.URL(str(url))
    return str(u.copy_with(query=None, fragment=None, username=None, password=None))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``."""
    ms = response.headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class ApiSession:
    """One vendor's HTTP client for one ``classify`` call: opened, used by threads, closed.

    A session per call (not per classifier) means no socket outlives the batch, nothing
    unpicklable hangs off the classifier, and connections are still reused inside a batch.
    """

    def __init__(
        self,
        name: str,
        *,
        secret: Secret,
        headers: Mapping[str, str],
        timeout_s: float,
        retry: RetryPolicy,
        concurrency: int,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._secret = secret
        self._timeout_s = timeout_s
        self._retry = retry
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            headers=dict(headers),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            trust_env=False,
        )

    def __enter__(self) -> ApiSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def post(self, url: str, **request: Any) -> Any:
        """POST and return the decoded JSON body; raises :class:`ApiError`.

        ``request`` is passed to httpx (``json=``, ``data=``, ``files=``); a retry resends it
        as it is, so file bodies must be ``bytes``, never streams.
        """
        where = public_url(url)
        last = ""
        for attempt in range(self._retry.attempts):
            wait: float
            try:
                response = self._client.post(url, **request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                last = f"cannot reach {where}: {self._scrub(str(exc) or type(exc).__name__)}"
                wait = self._retry.backoff(attempt, self._rng)
            except httpx.TimeoutException:
                raise ApiError(
                    f"no answer from {where} within {self._timeout_s:g} s (timed out)"
                ) from None
            except httpx.HTTPError as exc:
                detail = self._scrub(str(exc) or type(exc).__name__)
                raise ApiError(f"request to {where} failed: {detail}") from None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return self._json(response, where)
                last = f"HTTP {status} from {where}: {self._reason(response)}"
                if status != 429 and status < 500:
                    raise ApiError(last)
                asked = retry_after(response)
                if asked is not None and asked > self._retry.max_retry_after_s:
                    raise ApiError(
                        f"{last}; the server asks to wait {asked:g} s, more than the "
                        f"{self._retry.max_retry_after_s:g} s this adapter waits"
                    )
                wait = asked if asked is not None else self._retry.backoff(attempt, self._rng)
            if attempt + 1 < self._retry.attempts:
                log.info(
                    "%s: %s; retry %d/%d in %.2f s",
                    self.name,
                    last,
                    attempt + 1,
                    self._retry.attempts - 1,
                    wait,
                )
                self._retry.sleep(wait)
        raise ApiError(f"{last} (gave up after {self._retry.attempts} attempts)")

    def _json(self, response: httpx.Response, where: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"HTTP {response.status_code} from {where}: body is not JSON") from None

    def _reason(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (401, 403):
            return _REASONS[status]  # never quote these bodies: some echo the key
        if 300 <= status < 400:
            target = response.headers.get("location", "?")
            return f"unexpected redirect to {self._scrub(public_url(target))} (not followed)"
        detail = _vendor_message(response)
        base = _REASONS.get(status, response.reason_phrase or "error")
        text = f"{base}: {detail}" if detail and detail != base else base
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        key = self._secret.reveal()
        return text.replace(key, "***") if key else text


def _vendor_message(response: httpx.Response) -> str:
    """The vendor's own one-line reason, from the common JSON error shapes or the text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return " ".join(text.split())[:_MAX_DETAIL]
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or body.get("message") or body.get("detail")
    if not isinstance(message, str):
        return ""
    return " ".join(message.split())[:_MAX_DETAIL]


def parallel_map(fn: Callable[[T], R], jobs: Iterable[T], concurrency: int) -> list[R]:
    """``[fn(job) for job in jobs]`` with at most ``concurrency`` calls in flight, in order.

    ``fn`` must turn its own failures into values: a vendor call is I/O-bound, so threads
    overlap the waits, and the limit keeps a large batch from tripping the vendor's rate
    limit all at once.
    """
    todo: Sequence[T] = list(jobs)
    if concurrency <= 1 or len(todo) <= 1:
        return [fn(job) for job in todo]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(todo))) as pool:
        return list(pool.map(fn, todo))
