"""The dispatcher: deliver due outbox entries as signed webhooks, with retries.

One :meth:`Dispatcher.deliver_due` call is one pass (what ``childsafe actions deliver``
runs from cron): claim the due entries, POST each once, and record the answer.

* **2xx**: delivered.
* **429 / 503** with ``Retry-After`` (seconds or an HTTP date): the next attempt waits at
  least that long (capped at ``max_delay_s``); without one, the usual backoff.
* **other 5xx, 408, 425, timeouts, refused connections**: retry after an exponential
  backoff, ``base_delay_s * 2**(attempts-1)`` capped at ``max_delay_s``, with a jitter of
  up to 10% derived from the event id (deterministic, so tests and reruns agree; spread,
  so that a receiver coming back is not hit by every event in the same second).
* **other 4xx** (400, 401, 403, 404, 410, 422...): the receiver refused this event; sending
  it again unchanged cannot help, so it goes straight to the dead letters, where an
  operator fixes the cause (a wrong secret, a wrong URL) and runs ``actions retry ID``.
* after ``max_attempts`` failed attempts an entry is dead-lettered too.

Nothing is ever dropped: each claimed entry ends the pass delivered, pending with a later
``next_attempt_at``, or dead, and each outcome is audited by the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from childsafe.actions.base import MAX_ATTEMPTS, DeliveryState, Outbox, OutboxEntry
from childsafe.actions.webhooks import body_of, headers_for
from childsafe.errors import ActionError

RETRY_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did (entry ids), for ``--json`` output and exit codes."""

    delivered: tuple[int, ...]
    retrying: tuple[int, ...]
    dead: tuple[int, ...]

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.dead)


def backoff_s(attempts: int, event_id: str, *, base_s: float, max_s: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones (see module doc)."""
    delay = min(max_s, base_s * 2.0 ** max(0, attempts - 1))
    spread = int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:2], "big") / 65535
    return min(max_s, delay * (1 + 0.1 * spread))


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Dispatcher:
    """Delivers an outbox's due entries to ``url``, signed with ``secrets`` (the first signs;
    more than one while a secret is rotated)."""

    def __init__(
        self,
        outbox: Outbox,
        url: str,
        secrets: str | Sequence[str],
        *,
        max_attempts: int = MAX_ATTEMPTS,
        base_delay_s: float = 30.0,
        max_delay_s: float = 6 * 3600.0,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ActionError(f"webhook URL {url!r} must start with http:// or https://")
        if max_attempts < 1:
            raise ActionError(f"max_attempts must be at least 1, not {max_attempts}")
        keys = [secrets] if isinstance(secrets, str) else list(secrets)
        if not keys or not all(keys):
            raise ActionError("a webhook secret is empty: set CHILDSAFE_WEBHOOK_SECRET")
        self.outbox = outbox
        self.url = url
        self.secrets = keys
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._owns_client = client is None
        self._clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def deliver_due(self, *, limit: int = 100, lease_s: float = 120.0) -> DeliveryReport:
        """One pass over the entries due now (at most ``limit``)."""
        delivered: list[int] = []
        retrying: list[int] = []
        dead: list[int] = []
        for entry in self.outbox.claim_due(self._clock(), limit=limit, lease_s=lease_s):
            result = self.deliver(entry)
            if result.state is DeliveryState.DELIVERED:
                delivered.append(entry.id)
            elif result.state is DeliveryState.DEAD:
                dead.append(entry.id)
            else:
                retrying.append(entry.id)
        return DeliveryReport(tuple(delivered), tuple(retrying), tuple(dead))

    def deliver(self, entry: OutboxEntry) -> OutboxEntry:
        """One attempt at one entry; the entry as recorded afterwards."""
        body = body_of(entry.event)
        now = self._clock()
        headers = headers_for(entry.event, body, self.secrets, timestamp=int(now.timestamp()))
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            return self._failed(entry, None, error, None)
        status = response.status_code
        if 200 <= status < 300:
            return self.outbox.mark_delivered(entry.id, status=status, now=self._clock())
        error = f"HTTP {status}: {response.text[:200]}"
        if 400 <= status < 500 and status not in RETRY_STATUSES:
            return self.outbox.mark_failed(
                entry.id, status=status, error=error, now=self._clock(), retry_at=None
            )
        hint = None
        if status in RETRY_AFTER_STATUSES:
            hint = retry_after_s(response.headers.get("Retry-After"), self._clock())
        return self._failed(entry, status, error, hint)

    def _failed(
        self, entry: OutboxEntry, status: int | None, error: str, hint_s: float | None
    ) -> OutboxEntry:
        now = self._clock()
        attempts = entry.attempts + 1
        retry_at = None
        if attempts < self.max_attempts:
            wait = backoff_s(
                attempts, entry.event.event_id, base_s=self.base_delay_s, max_s=self.max_delay_s
            )
            if hint_s is not None:  # the receiver said when: never sooner, capped
                wait = min(self.max_delay_s, max(wait, hint_s))
            retry_at = now + timedelta(seconds=wait)
        return self.outbox.mark_failed(
            entry.id, status=status, error=error, now=now, retry_at=retry_at
        )
