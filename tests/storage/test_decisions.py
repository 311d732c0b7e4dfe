"""The decision log: append-only, idempotent, per tenant, durable once ``record`` returns."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from childsafe.screening.base import (
    ContentKind,
    DecisionEntry,
    PolicyRef,
    Source,
    Subject,
)
from childsafe.storage import SqlBankStore, SqlDecisionLog
from childsafe.storage.errors import InvalidValue
from childsafe.storage.models import decisions

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def entry(request_id: str, tenant: str = "acme", **kw: object) -> DecisionEntry:
    base = DecisionEntry(
        request_id=request_id,
        tenant=tenant,
        created_at=T0,
        source=Source.API,
        kind=ContentKind.PROMPT,
        decision="review",
        reasons=("text_risk: minor+sexual pattern",),
        policy=PolicyRef("baseline", "3"),
        content_sha256="ab" * 32,
        subject=Subject(user_id="u1", conversation_id="c9"),
        match_summary=("known:md5:17:0",),
        score_summary={"text_risk.risk": 0.91, "text_risk.minor": 0.5},
        create_case=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def rows(store: SqlBankStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(decisions)).scalar_one())


def test_an_entry_reads_back_as_written(store: SqlBankStore) -> None:
    log = store.decisions
    e = entry("r1", pdq="f" * 64, note="spam")
    log.record(e)
    assert log.get("acme", "r1") == e
    assert log.list("acme") == [e]


def test_a_retried_write_is_not_duplicated(store: SqlBankStore) -> None:
    log = store.decisions
    first = entry("r1")
    log.record(first)
    log.record(first)
    log.record(replace(first, decision="block"))  # a retry never rewrites the first
    assert rows(store) == 1
    assert log.get("acme", "r1") == first
    # Same request id, another source (a user report about it): a second entry.
    report = entry("r1", source=Source.USER_REPORT, note="reported", created_at=T0 + timedelta(1))
    log.record(report)
    assert rows(store) == 2
    assert log.get("acme", "r1") == first
    assert log.get("acme", "r1", source=Source.USER_REPORT) == report


def test_concurrent_retries_leave_one_entry_each(store: SqlBankStore) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        log = SqlDecisionLog(store.engine)  # its own lock: writers really race on SQLite too
        try:
            for i in range(20):
                log.record(entry(f"r{i}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert rows(store) == 20


def test_tenants_are_isolated_even_with_the_same_request_id(store: SqlBankStore) -> None:
    log = store.decisions
    log.record(entry("shared-id", tenant="acme"))
    log.record(entry("shared-id", tenant="globex", decision="allow"))
    assert rows(store) == 2  # globex's write was not swallowed as a "retry" of acme's
    got = log.get("globex", "shared-id")
    assert got is not None and got.decision == "allow"
    assert [x.tenant for x in log.list("acme")] == ["acme"]
    assert log.get("acme", "other") is None
    assert log.get("nobody", "shared-id") is None


def test_list_is_newest_first_and_filters(store: SqlBankStore) -> None:
    log = store.decisions
    for i in range(6):
        decision = ("allow", "review", "block")[i % 3]
        log.record(entry(f"r{i}", created_at=T0 + timedelta(minutes=i), decision=decision))
    assert [x.request_id for x in log.list("acme")] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert [x.request_id for x in log.list("acme", limit=2)] == ["r5", "r4"]
    since = T0 + timedelta(minutes=2)
    assert [x.request_id for x in log.list("acme", since=since)] == ["r5", "r4", "r3", "r2"]
    assert [x.request_id for x in log.list("acme", decision="block")] == ["r5", "r2"]
    until = T0 + timedelta(minutes=2)
    assert [x.request_id for x in log.list("acme", until=until)] == ["r1", "r0"]
    # Another time zone names the same instant.
    plus2 = timezone(timedelta(hours=2))
    assert len(log.list("acme", since=since.astimezone(plus2))) == 4
    with pytest.raises(InvalidValue, match="limit"):
        log.list("acme", limit=0)


def test_count_by_source_kind_and_decision(store: SqlBankStore) -> None:
    log = store.decisions
    log.record(entry("a", decision="allow"))
    log.record(entry("b", decision="allow", created_at=T0 + timedelta(hours=1)))
    log.record(entry("c", decision="block", kind=ContentKind.IMAGE))
    log.record(entry("c", source=Source.USER_REPORT, decision="review"))
    log.record(entry("d", tenant="globex", decision="allow"))
    assert log.count_by("acme") == {
        ("api", "prompt", "allow"): 2,
        ("api", "image", "block"): 1,
        ("user_report", "prompt", "review"): 1,
    }
    assert log.count_by("acme", since=T0 + timedelta(minutes=30)) == {("api", "prompt", "allow"): 1}
    assert log.count_by("acme", until=T0) == {}


def test_non_finite_scores_are_logged_as_missing(store: SqlBankStore) -> None:
    log = store.decisions
    log.record(entry("nan", score_summary={"a.x": math.nan, "b.y": 0.25, "c.z": math.inf}))
    got = log.get("acme", "nan")
    assert got is not None and got.score_summary == {"b.y": 0.25}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tenant": "Not A Slug"}, "bad tenant name"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 129}, "request_id"),
        ({"content_sha256": "a" * 65}, "content_sha256"),
        ({"pdq": "f" * 65}, "pdq"),
        ({"decision": ""}, "decision"),
        ({"kind": "video"}, "video"),
        ({"source": "fax"}, "fax"),
    ],
)
def test_malformed_entries_are_refused_clearly(
    store: SqlBankStore, change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        store.decisions.record(replace(entry("r1"), **change))  # type: ignore[arg-type]
    assert rows(store) == 0


def test_the_database_refuses_updates_and_deletes(store: SqlBankStore) -> None:
    store.decisions.record(entry("r1"))
    for stmt in (update(decisions).values(decision="allow"), delete(decisions)):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(stmt)
    got = store.decisions.get("acme", "r1")
    assert got is not None and got.decision == "review"


CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from childsafe.screening.base import ContentKind, DecisionEntry, PolicyRef, Source
    from childsafe.storage import open_store

    url, schema = sys.argv[1], sys.argv[2] or None
    log = open_store(url, schema=schema).decisions
    for i in range(int(sys.argv[3])):
        log.record(DecisionEntry(f"k{i}", "acme", datetime.now(UTC), Source.GUARD,
                                 ContentKind.GENERATED_TEXT, "block", ("r",),
                                 PolicyRef("p", "1"), "cd" * 32))
        print(f"recorded k{i}", flush=True)
    time.sleep(120)
    """
)


def test_a_recorded_entry_survives_the_process_being_killed(
    store: SqlBankStore, store_location: tuple[str, str | None]
) -> None:
    url, schema = store_location
    n = 5
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, url, schema or "", str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as child:
        try:
            assert child.stdout is not None
            for i in range(n):
                assert child.stdout.readline().strip() == f"recorded k{i}"
        finally:
            child.send_signal(signal.SIGKILL)  # no clean shutdown, no atexit, no dispose
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    fresh = SqlDecisionLog(store.engine)  # and a brand-new engine on SQLite below
    assert sorted(e.request_id for e in fresh.list("acme")) == [f"k{i}" for i in range(n)]
    if schema is None:
        from childsafe.storage import open_store

        reopened = open_store(url)
        try:
            assert len(reopened.decisions.list("acme")) == n
        finally:
            reopened.close()
