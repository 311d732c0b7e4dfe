"""Signed action webhooks: the body, the signature scheme, and ``verify_signature``.

The scheme is Stripe's, so receivers already know it:

* the body is the event's JSON (:meth:`ActionEvent.payload`), UTF-8, keys sorted;
* the header ``X-Childsafe-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
  ``HMAC-SHA-256(secret, f"{t}.{body}")``;
* ``Idempotency-Key: <event id>`` and ``X-Childsafe-Event: <kind>`` ride beside it.

Why the timestamp is inside the MAC: a captured request replayed later carries its old
``t``, and a receiver refuses any ``t`` outside its tolerance window (5 minutes by default),
so an attacker cannot replay a signed ``restore`` days later. Within the window, the
receiver deduplicates on the idempotency key (a replay inside it is then a no-op too).
Why several ``v1`` values may appear: while a secret is rotated, the sender signs with old
and new, and a receiver holding either accepts. Comparison is constant-time.

Receiver sketch (any language)::

    header = request.headers["X-Childsafe-Signature"]
    verify_signature(secret, request.body, header)     # raises SignatureError
    if seen(request.headers["Idempotency-Key"]): return 200
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence

from childsafe.actions.base import ActionEvent
from childsafe.errors import ActionError

SIGNATURE_HEADER = "X-Childsafe-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Childsafe-Event"
DEFAULT_TOLERANCE_S = 300
SCHEME = "v1"


class SignatureError(ActionError):
    """A webhook whose signature is missing, malformed, wrong or outside the time window."""


def body_of(event: ActionEvent) -> bytes:
    """The exact bytes that are signed and sent (sorted keys: stable across retries)."""
    return json.dumps(
        event.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    msg = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def sign(secrets: str | Sequence[str], body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header value for ``body``; several secrets give several ``v1``."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys or not all(keys):
        raise ActionError("a webhook secret is empty: set CHILDSAFE_WEBHOOK_SECRET")
    t = int(time.time()) if timestamp is None else int(timestamp)
    return ",".join([f"t={t}"] + [f"{SCHEME}={_mac(k, t, body)}" for k in keys])


def headers_for(
    event: ActionEvent, body: bytes, secrets: str | Sequence[str], *, timestamp: int | None = None
) -> dict[str, str]:
    """Every header a delivery carries."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secrets, body, timestamp=timestamp),
        IDEMPOTENCY_HEADER: event.event_id,
        EVENT_HEADER: event.kind.value,
    }


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` from a header; ``SignatureError`` if malformed."""
    timestamp: int | None = None
    sigs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed signature header element {part.strip()!r}")
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise SignatureError(f"bad signature timestamp {value!r}")
            timestamp = int(value)
        elif key == SCHEME:
            sigs.append(value)
        # other schemes (a future v2) are ignored, as Stripe's receivers do
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp (t=)")
    if not sigs:
        raise SignatureError(f"the signature header has no {SCHEME} signature")
    return timestamp, sigs


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a received webhook; return its timestamp, or raise :class:`SignatureError`.

    ``body`` must be the raw bytes received (re-serialised JSON would not match).
    A timestamp further than ``tolerance_s`` from ``now`` (either way: clocks drift) is a
    replay or a broken clock, and refused even when the MAC is right.
    """
    if not secret:
        raise SignatureError("no webhook secret configured to verify with")
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp, sigs = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            f"signature timestamp {timestamp} is {abs(current - timestamp):.0f}s from now "
            f"(tolerance {tolerance_s:.0f}s): a replay or a wrong clock"
        )
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise SignatureError("signature does not match the body (wrong secret or altered body)")
    return timestamp
