"""Signed action webhooks through the SQL outbox to a fake platform over real HTTP."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from sqlalchemy import text
from tests.fakes.platform_webhook import FakePlatform

from childsafe.actions.base import ActionEvent, ActionKind, DeliveryState
from childsafe.actions.outbox import Dispatcher, backoff_s, retry_after_s
from childsafe.actions.webhooks import (
    SIGNATURE_HEADER,
    SignatureError,
    body_of,
    headers_for,
    parse_header,
    sign,
    verify_signature,
)
from childsafe.errors import ActionError
from childsafe.storage import SqlBankStore, open_store
from childsafe.storage.actions import SqlOutbox
from childsafe.storage.audit import SqlAuditLog

SECRET = "whsec-test-0123456789"


def _event(n: int = 1, **kw: object) -> ActionEvent:
    base: dict[str, object] = {
        "tenant": "default",
        "kind": ActionKind.TAKEDOWN,
        "subject_kind": "upload",
        "subject_id": f"upload-{n}",
        "case_id": n,
        "data": {"item_id": n},
        "event_id": f"takedown:default:{n}:{n}",
    }
    base.update(kw)
    return ActionEvent(**base)  # type: ignore[arg-type]


class Clock:
    """A settable clock near real time (the fake checks signatures against real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(SECRET) as fake:
        yield fake


@pytest.fixture
def audit(store: SqlBankStore) -> SqlAuditLog:
    return SqlAuditLog(store.engine)


@pytest.fixture
def outbox(store: SqlBankStore, audit: SqlAuditLog) -> SqlOutbox:
    return SqlOutbox(store.engine, audit)


def _dispatcher(outbox: SqlOutbox, url: str, clock: Clock, **kw: object) -> Dispatcher:
    opts: dict[str, object] = {"base_delay_s": 10.0, "max_delay_s": 200.0, "clock": clock}
    opts.update(kw)
    return Dispatcher(outbox, url, SECRET, **opts)  # type: ignore[arg-type]


# -- signatures ---------------------------------------------------------------------------


def test_signature_round_trip_and_header_shape() -> None:
    body = body_of(_event())
    header = sign(SECRET, body, timestamp=1_700_000_000)
    t, sigs = parse_header(header)
    assert t == 1_700_000_000 and len(sigs) == 1 and len(sigs[0]) == 64
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(SECRET, body, header, now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.replace(b"takedown", b"restore"), "does not match"),
        (lambda b: b + b" ", "does not match"),
        (lambda b: b"", "does not match"),
    ],
)
def test_tampered_body_is_refused(mutate: object, message: str) -> None:
    body = body_of(_event())
    header = sign(SECRET, body, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match=message):
        verify_signature(SECRET, mutate(body), header, now=1_700_000_000)  # type: ignore[operator]


def test_wrong_secret_and_replays_are_refused() -> None:
    body = body_of(_event())
    header = sign(SECRET, body, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature("another-secret", body, header, now=1_700_000_000)
    with pytest.raises(SignatureError, match="replay"):  # a day later
        verify_signature(SECRET, body, header, now=1_700_086_400)
    with pytest.raises(SignatureError, match="replay"):  # from the future
        verify_signature(SECRET, body, header, now=1_699_999_000)
    # the edge of the window is still accepted
    assert verify_signature(SECRET, body, header, now=1_700_000_300) == 1_700_000_000
    # moving the timestamp forward to get past the window breaks the MAC
    forged = header.replace("t=1700000000", "t=1700086400")
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, body, forged, now=1_700_086_400)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1700000000,v2=00"],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_signature(SECRET, b"{}", header, now=1_700_000_000)


def test_rotation_signs_with_every_secret() -> None:
    body = body_of(_event())
    header = sign(["new-secret", SECRET], body, timestamp=1_700_000_000)
    assert verify_signature(SECRET, body, header, now=1_700_000_000)
    assert verify_signature("new-secret", body, header, now=1_700_000_000)
    with pytest.raises(ActionError, match="empty"):
        sign("", body)


def test_body_is_stable_unicode_json_without_content() -> None:
    event = _event(subject_id="użytkownik-é-😀", data={"reason_code": "csam_known"})
    body = body_of(event)
    assert body == body_of(event)  # the same bytes on every retry
    payload = json.loads(body)
    assert payload["subject"] == {"kind": "upload", "id": "użytkownik-é-😀"}
    assert set(payload) == {"id", "type", "tenant", "created_at", "case_id", "subject", "data"}
    headers = headers_for(event, body, SECRET, timestamp=1)
    assert headers["Idempotency-Key"] == event.event_id
    assert headers["X-Childsafe-Event"] == "takedown"


def test_event_validation() -> None:
    with pytest.raises(ActionError, match="event id"):
        _event(event_id="x" * 129)
    with pytest.raises(ActionError, match="subject id"):
        _event(subject_id="")


def test_retry_after_parsing_and_backoff() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_s(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_s("soon", now) is None and retry_after_s(None, now) is None
    delays = [backoff_s(n, "evt", base_s=10, max_s=1000) for n in range(1, 9)]
    assert all(b > a for a, b in itertools.pairwise(delays))
    assert 10 <= delays[0] <= 11 and 20 <= delays[1] <= 22
    assert delays[-1] == 1000  # capped


# -- outbox and dispatcher ----------------------------------------------------------------


def test_delivery_signed_and_audited(
    outbox: SqlOutbox, audit: SqlAuditLog, platform: FakePlatform
) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    assert entry.state is DeliveryState.PENDING and entry.attempts == 0
    report = _dispatcher(outbox, platform.url, clock).deliver_due()
    assert report.delivered == (entry.id,) and not report.retrying and not report.dead
    got = outbox.get(entry.id)
    assert got.state is DeliveryState.DELIVERED and got.attempts == 1 and got.last_status == 200
    assert [e["id"] for e in platform.events] == [entry.event.event_id]
    assert platform.events[0]["type"] == "takedown" and platform.rejected == []
    actions = [e.action for e in audit.entries(target_type="action")]
    assert actions == ["action.enqueue", "action.delivered"]
    assert audit.verify().ok
    # nothing is due any more
    assert _dispatcher(outbox, platform.url, clock).deliver_due().attempted == 0


def test_enqueue_is_idempotent(outbox: SqlOutbox, audit: SqlAuditLog) -> None:
    first = outbox.enqueue(_event())
    again = outbox.enqueue(_event(subject_id="someone-else"))
    assert again.id == first.id and again.event.subject_id == "upload-1"
    assert len(outbox.list()) == 1
    assert len(audit.entries(target_type="action")) == 1


def test_enqueue_joins_the_callers_transaction(
    store: SqlBankStore, outbox: SqlOutbox, audit: SqlAuditLog
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.engine.begin() as conn:
        outbox.enqueue(_event(1), conn=conn)
        raise Boom  # the caller's change fails: its event must vanish with it
    assert outbox.list() == [] and audit.entries() == []
    with store.engine.begin() as conn:
        outbox.enqueue(_event(2), conn=conn)
    assert [e.event.case_id for e in outbox.list()] == [2]
    assert audit.verify().ok


def test_retries_with_backoff_then_delivers(outbox: SqlOutbox, platform: FakePlatform) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    platform.fail_next(503, 2)
    d = _dispatcher(outbox, platform.url, clock)
    assert d.deliver_due().retrying == (entry.id,)
    first = outbox.get(entry.id)
    assert first.attempts == 1 and first.last_status == 503
    wait = (first.next_attempt_at - clock.now).total_seconds()
    assert 10 <= wait <= 11
    clock.advance(5)  # not due yet
    assert d.deliver_due().attempted == 0
    clock.advance(wait)
    assert d.deliver_due().retrying == (entry.id,)
    second = outbox.get(entry.id)
    assert 20 <= (second.next_attempt_at - clock.now).total_seconds() <= 22
    clock.advance(30)
    assert d.deliver_due().delivered == (entry.id,)
    assert outbox.get(entry.id).attempts == 3
    assert len(platform.requests) == 3 and len(platform.events) == 1


def test_429_retry_after_is_honoured(outbox: SqlOutbox, platform: FakePlatform) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    platform.fail_next(429, retry_after="120")
    d = _dispatcher(outbox, platform.url, clock, base_delay_s=1.0)
    d.deliver_due()
    got = outbox.get(entry.id)
    assert got.last_status == 429 and got.next_attempt_at == clock.now + timedelta(seconds=120)
    clock.advance(119)
    assert d.deliver_due().attempted == 0
    clock.advance(1)
    assert d.deliver_due().delivered == (entry.id,)


def test_503_retry_after_date_is_capped(outbox: SqlOutbox, platform: FakePlatform) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    later = format_datetime(clock.now + timedelta(days=3), usegmt=True)
    platform.fail_next(503, retry_after=later)
    _dispatcher(outbox, platform.url, clock).deliver_due()
    got = outbox.get(entry.id)
    assert got.next_attempt_at == clock.now + timedelta(seconds=200)  # max_delay_s


def test_dead_letter_after_max_attempts_then_retry(
    outbox: SqlOutbox, audit: SqlAuditLog, platform: FakePlatform
) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    platform.fail_next(500, 3)
    d = _dispatcher(outbox, platform.url, clock, max_attempts=3)
    outcomes = []
    for _ in range(3):
        outcomes.append(d.deliver_due())
        clock.advance(60)
    assert outcomes[-1].dead == (entry.id,)
    dead = outbox.get(entry.id)
    assert dead.state is DeliveryState.DEAD and dead.attempts == 3 and dead.dead_at is not None
    assert "HTTP 500" in (dead.last_error or "")
    assert [e.id for e in outbox.list(state=DeliveryState.DEAD)] == [entry.id]
    assert d.deliver_due().attempted == 0  # dead letters are not retried on their own
    back = outbox.retry(entry.id, actor="cli:ops", now=clock.now)
    assert back.state is DeliveryState.PENDING and back.attempts == 0
    assert d.deliver_due().delivered == (entry.id,)
    with pytest.raises(ActionError, match="delivered already"):
        outbox.retry(entry.id, actor="cli:ops", now=clock.now)
    actions = [e.action for e in audit.entries(target_type="action")]
    assert actions.count("action.attempt_failed") == 2
    assert actions.count("action.dead_letter") == 1 and "action.retry" in actions
    assert audit.verify().ok


def test_wrong_secret_goes_straight_to_dead_letters(
    outbox: SqlOutbox, platform: FakePlatform
) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    bad = Dispatcher(outbox, platform.url, "not-the-secret", clock=clock)
    assert bad.deliver_due().dead == (entry.id,)
    got = outbox.get(entry.id)
    assert got.last_status == 400 and "does not match" in (got.last_error or "")
    assert platform.events == [] and len(platform.rejected) == 1
    outbox.retry(entry.id, actor="cli:ops", now=clock.now)
    assert _dispatcher(outbox, platform.url, clock).deliver_due().delivered == (entry.id,)


def test_timeout_and_refused_connection_are_retried(
    outbox: SqlOutbox, platform: FakePlatform
) -> None:
    clock = Clock()
    entry = outbox.enqueue(_event(created_at=clock.now))
    platform.delay_s = 2.0
    with httpx.Client(timeout=0.2) as client:
        report = _dispatcher(outbox, platform.url, clock, client=client).deliver_due()
    assert report.retrying == (entry.id,)
    got = outbox.get(entry.id)
    assert got.last_status is None and "Timeout" in (got.last_error or "")
    platform.delay_s = 0.0
    clock.advance(60)
    closed = "http://127.0.0.1:9/hooks"  # discard port: nothing listens
    assert _dispatcher(outbox, closed, clock).deliver_due().retrying == (entry.id,)
    assert "Connect" in (outbox.get(entry.id).last_error or "")


def test_a_resend_is_deduplicated_by_the_receiver(
    outbox: SqlOutbox, platform: FakePlatform
) -> None:
    """A dispatcher that dies after the POST but before recording it sends again later;
    the idempotency key makes the second one a no-op at the receiver."""
    clock = Clock()
    outbox.enqueue(_event(created_at=clock.now))
    d = _dispatcher(outbox, platform.url, clock)
    (claimed,) = outbox.claim_due(clock.now, limit=10, lease_s=60)
    d.deliver(claimed)
    d.deliver(claimed)
    assert len(platform.events) == 1 and platform.duplicates == 1


def test_two_dispatchers_never_claim_the_same_entry(outbox: SqlOutbox) -> None:
    now = datetime.now(UTC)
    for n in range(30):
        outbox.enqueue(_event(n, created_at=now))
    got: list[list[int]] = [[], []]

    def claim(slot: int) -> None:
        got[slot] = [e.id for e in outbox.claim_due(now, limit=100, lease_s=60)]

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 30
    # leased entries come back once the lease runs out (a dispatcher that died mid-pass)
    assert outbox.claim_due(now + timedelta(seconds=30), limit=100, lease_s=60) == []
    assert len(outbox.claim_due(now + timedelta(seconds=61), limit=100, lease_s=60)) == 30


def _location(store: SqlBankStore) -> tuple[str, str | None]:
    url = store.engine.url.render_as_string(hide_password=False)
    if store.engine.dialect.name != "postgresql":
        return url, None
    with store.engine.connect() as conn:
        return url, str(conn.execute(text("SELECT current_schema()")).scalar())


def test_outbox_survives_a_restart(store: SqlBankStore, platform: FakePlatform) -> None:
    clock = Clock()
    url, schema = _location(store)
    first = open_store(url, schema=schema)
    SqlOutbox(first.engine, SqlAuditLog(first.engine)).enqueue(_event(7, created_at=clock.now))
    first.close()  # the process ends before anything is delivered
    second = open_store(url, schema=schema)
    try:
        outbox = SqlOutbox(second.engine, SqlAuditLog(second.engine))
        assert _dispatcher(outbox, platform.url, clock).deliver_due().attempted == 1
        assert [e["case_id"] for e in platform.events] == [7]
    finally:
        second.close()


def test_dispatcher_configuration_errors(outbox: SqlOutbox) -> None:
    with pytest.raises(ActionError, match="http"):
        Dispatcher(outbox, "ftp://example.invalid", SECRET)
    with pytest.raises(ActionError, match="secret"):
        Dispatcher(outbox, "http://127.0.0.1:9", "")
    with pytest.raises(ActionError, match="no outbox entry"):
        outbox.get(999)
    with pytest.raises(ActionError, match="limit"):
        outbox.list(limit=0)


def test_fake_refuses_a_stale_signature(platform: FakePlatform) -> None:
    body = body_of(_event())
    stale = sign(SECRET, body, timestamp=int(time.time()) - 3600)
    r = httpx.post(platform.url, content=body, headers={SIGNATURE_HEADER: stale})
    assert r.status_code == 400 and "replay" in r.json()["error"]
