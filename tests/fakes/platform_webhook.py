"""A fake platform receiving childsafe's signed action webhooks (``actions/webhooks.py``).

It does what the docs tell a real receiver to do: check ``X-Childsafe-Signature`` with
:func:`verify_signature` (400 with the reason when it fails: a wrong secret, an altered body,
an old timestamp), deduplicate on ``Idempotency-Key`` (a repeat answers 200 and is counted
in ``duplicates``, never applied twice), and apply the event (``events`` keeps the payloads
in arrival order). Failures are scripted like the other fakes: ``fail_next(503, 2)``,
``fail_next(429, retry_after="120")``, and ``delay_s`` for timeouts.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes import FakeServer, Recorded, Reply

from childsafe.actions.webhooks import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify_signature,
)


class FakePlatform(FakeServer):
    """``url`` is where childsafe POSTs; ``secret`` is the shared signing secret."""

    def __init__(self, secret: str = "whsec-test-0123456789", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret
        self.tolerance_s = 300.0
        self.events: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.duplicates = 0
        self.rejected: list[str] = []

    @property
    def url(self) -> str:
        return f"{self.origin}/hooks/childsafe"

    def handle(self, request: Recorded) -> Reply:
        if request.path != "/hooks/childsafe":
            return Reply(404, {"error": f"no route {request.path}"})
        try:
            verify_signature(
                self.secret,
                request.body,
                request.headers.get(SIGNATURE_HEADER.lower()),
                tolerance_s=self.tolerance_s,
            )
        except SignatureError as exc:
            self.rejected.append(str(exc))
            return Reply(400, {"error": str(exc)})
        key = request.headers.get(IDEMPOTENCY_HEADER.lower(), "")
        payload = json.loads(request.body)
        if key != payload.get("id") or request.headers.get(EVENT_HEADER.lower()) != payload.get(
            "type"
        ):
            return Reply(400, {"error": "headers disagree with the body"})
        with self._lock:
            if key in self.seen:
                self.duplicates += 1
                return Reply(200, {"status": "duplicate"})
            self.seen.add(key)
            self.events.append(payload)
        return Reply(200, {"status": "ok"})
