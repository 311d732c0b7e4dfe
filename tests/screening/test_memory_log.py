"""The in-memory decision log keeps the ``DecisionLog`` contract, within a memory bound."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from childsafe.screening.base import ContentKind, DecisionEntry, PolicyRef, Source
from childsafe.screening.memory_log import MemoryDecisionLog

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(rid: str, tenant: str = "t", *, minutes: int = 0, decision: str = "allow",
          source: Source = Source.API) -> DecisionEntry:  # fmt: skip
    return DecisionEntry(
        request_id=rid,
        tenant=tenant,
        created_at=T0 + timedelta(minutes=minutes),
        source=source,
        kind=ContentKind.PROMPT,
        decision=decision,
        reasons=(),
        policy=PolicyRef("default", "1"),
        content_sha256="0" * 64,
    )


def test_newest_first_with_filters() -> None:
    log = MemoryDecisionLog()
    for i, decision in enumerate(["allow", "block", "review", "block"]):
        log.record(entry(f"r{i}", minutes=i, decision=decision))
    log.record(entry("x", tenant="other"))
    assert [e.request_id for e in log.list("t")] == ["r3", "r2", "r1", "r0"]
    assert [e.request_id for e in log.list("t", decision="block")] == ["r3", "r1"]
    assert [e.request_id for e in log.list("t", since=T0 + timedelta(minutes=2))] == ["r3", "r2"]
    assert [e.request_id for e in log.list("t", limit=1)] == ["r3"]
    assert log.list("t", limit=0) == []
    assert [e.request_id for e in log.list("other")] == ["x"]


def test_idempotent_per_request_and_source_and_tenant_scoped_get() -> None:
    log = MemoryDecisionLog()
    first = entry("r1", decision="block")
    log.record(first)
    log.record(entry("r1", decision="allow"))  # a retry: ignored
    assert len(log) == 1 and log.get("t", "r1") == first
    report = entry("r1", source=Source.USER_REPORT, decision="review")
    log.record(report)
    assert len(log) == 2 and log.get("t", "r1") == report
    assert log.get("other", "r1") is None


def test_bounded_oldest_first() -> None:
    log = MemoryDecisionLog(max_entries=3)
    for i in range(5):
        log.record(entry(f"r{i}", minutes=i))
    assert [e.request_id for e in log.list("t")] == ["r4", "r3", "r2"]
    assert log.dropped == 2
    assert log.get("t", "r0") is None and log.get("t", "r2") is not None
    with pytest.raises(ValueError, match="at least 1"):
        MemoryDecisionLog(max_entries=0)


def test_concurrent_records_are_all_kept() -> None:
    log = MemoryDecisionLog()

    def work(k: int) -> None:
        for i in range(200):
            log.record(entry(f"{k}-{i}"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 800
