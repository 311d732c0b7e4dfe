"""The audit log: gap-free hash chain, append-only, tamper-evident, safe under concurrency."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from childsafe.audit.base import GENESIS, AuditEvent, entry_hash
from childsafe.errors import AuditError
from childsafe.storage import SqlBankStore, open_store
from childsafe.storage import audit as audit_module
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.errors import InvalidValue
from childsafe.storage.models_audit import audit_head, audit_log

MAX = 10_000


def ev(n: int = 0, tenant: str = "acme", **kw: object) -> AuditEvent:
    fields: dict[str, object] = {
        "tenant": tenant,
        "actor": "reviewer:alice",
        "action": "case.claim",
        "target_type": "case",
        "target_id": str(n),
        "details": {"n": n},
    }
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def fill(log: SqlAuditLog, n: int) -> None:
    for i in range(1, n + 1):
        log.append(ev(i))


def unguard(engine: Engine) -> None:
    """Drop the append-only triggers: what an operator with DDL rights could do."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_an_empty_log_verifies(store: SqlBankStore) -> None:
    check = SqlAuditLog(store.engine).verify()
    assert check.ok and check.entries == 0 and check.first_bad_seq is None


def test_entries_chain_from_genesis_and_read_back_as_returned(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    made = [log.append(ev(i)) for i in range(1, 6)]
    assert [e.seq for e in made] == [1, 2, 3, 4, 5]
    assert made[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(made))
    assert log.entries() == made
    assert made[2].at.tzinfo is not None
    assert log.verify().ok and log.verify().entries == 5
    assert log.head() == (5, made[-1].hash)


def test_unicode_and_awkward_details_verify(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    details = {
        "note": "r\u00e9sum\u00e9 \u2014 \u65e5\u672c\u8a9e \U0001f600 \u202e rtl",
        "nul": "a\x00b",
        "nested": {"ids": (1, 2, 3), 7: "int key"},
        "score": float("nan"),
        "big": 2**62,
        "at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    got = log.append(ev(1, target_id="\u00e9l\u00e9ment-1", details=details))
    assert got.details["nested"] == {"ids": [1, 2, 3], "7": "int key"}
    assert got.details["score"] is None
    assert log.entries()[0].details == got.details
    assert log.verify().ok


def test_bad_events_are_refused_and_nothing_is_written(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    with pytest.raises(AuditError, match="tenant"):
        log.append(ev(1, tenant="Not A Slug"))
    with pytest.raises(AuditError, match="actor"):
        log.append(ev(1, actor=""))
    with pytest.raises(AuditError, match="target_id"):
        log.append(ev(1, target_id="x\x00y"))
    with pytest.raises(AuditError, match="action"):
        log.append(ev(1, action="a" * 65))
    assert count(store.engine) == 0 and log.head() == (0, GENESIS)


def test_filters_by_tenant_and_target_and_pages(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    for i in range(1, 7):
        log.append(ev(i % 3, tenant="acme" if i % 2 else "globex"))
    acme = log.entries("acme")
    assert [e.seq for e in acme] == [1, 3, 5]
    assert [e.seq for e in log.entries(target_type="case", target_id="1")] == [1, 4]
    assert [e.seq for e in log.entries("globex", target_id="0")] == [6]
    assert [e.seq for e in log.entries(after_seq=2, limit=2)] == [3, 4]
    assert log.entries("nobody") == []
    with pytest.raises(InvalidValue):
        log.entries(limit=0)


def test_the_table_refuses_update_and_delete(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 2)
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(update(audit_log).values(actor="someone-else"))
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 1))
    assert log.verify().ok and count(store.engine) == 2


def test_a_changed_entry_is_found_at_its_seq(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 6)
    unguard(store.engine)
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(details={"n": 40}))
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 4 and check.entries == 3
    assert "changed" in (check.problem or "")


def test_a_changed_entry_with_a_recomputed_hash_breaks_the_next(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 5)
    unguard(store.engine)
    third = log.entries(after_seq=2, limit=1)[0]
    forged = AuditEvent(third.tenant, "reviewer:mallory", third.action, "case", "3", {"n": 3})
    digest = entry_hash(third.prev_hash, 3, third.at, forged)
    with store.engine.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 3)
            .values(actor="reviewer:mallory", hash=digest)
        )
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 4


def test_a_deleted_entry_is_found(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 5)
    unguard(store.engine)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 2 and "missing" in (check.problem or "")


def test_a_cut_off_tail_is_found_by_the_head(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 5)
    unguard(store.engine)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 4))
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 4 and check.entries == 3


def test_reordered_entries_are_found(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 5)
    unguard(store.engine)
    c = audit_log.c
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(c.seq == 2).values(seq=-2))
        conn.execute(update(audit_log).where(c.seq == 3).values(seq=2))
        conn.execute(update(audit_log).where(c.seq == -2).values(seq=3))
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 2


def test_a_row_slipped_in_past_the_head_is_found(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    fill(log, 3)
    last = log.entries()[-1]
    at = datetime.now(UTC)
    sneaky = ev(9)
    with store.engine.begin() as conn:
        conn.execute(
            insert(audit_log).values(
                seq=4,
                at=at,
                tenant="acme",
                actor=sneaky.actor,
                action=sneaky.action,
                target_type="case",
                target_id="9",
                details={"n": 9},
                prev_hash=last.hash,
                hash=entry_hash(last.hash, 4, at, sneaky),
            )
        )
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 4 and "head" in (check.problem or "")


def test_verify_walks_page_by_page(store: SqlBankStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_module, "VERIFY_PAGE", 3)
    log = SqlAuditLog(store.engine)
    fill(log, 10)
    assert log.verify() == log.verify() and log.verify().entries == 10
    unguard(store.engine)
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 8).values(action="case.drop"))
    assert log.verify().first_bad_seq == 8


def test_an_entry_commits_or_rolls_back_with_the_callers_transaction(
    store: SqlBankStore,
) -> None:
    log = SqlAuditLog(store.engine)
    log.append(ev(1))
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        log.append(ev(2), conn=conn)
        raise RuntimeError("the state change failed")
    assert count(store.engine) == 1
    with store.engine.begin() as conn:
        inside = log.append(ev(3), conn=conn)
        assert inside.seq == 2  # the rolled-back entry left no gap
    assert [e.seq for e in log.entries()] == [1, 2] and log.verify().ok


def test_a_missing_head_is_a_clear_error(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_head))
    with pytest.raises(AuditError, match="head"):
        log.append(ev(1))
    with pytest.raises(AuditError, match="head"):
        log.verify()


def _hammer(logs: list[SqlAuditLog], per_thread: int, threads: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(k: int) -> None:
        try:
            start.wait()
            log = logs[k % len(logs)]
            for i in range(per_thread):
                log.append(ev(i, actor=f"reviewer:t{k}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


def test_concurrent_appends_from_threads_make_one_gap_free_chain(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    assert _hammer([log], per_thread=15, threads=6) == []
    seqs = [e.seq for e in log.entries(limit=MAX)]
    assert seqs == list(range(1, 91))
    assert log.verify().ok and log.verify().entries == 90


def test_concurrent_appends_from_two_engines(
    store: SqlBankStore, store_location: tuple[str, str | None]
) -> None:
    url, schema = store_location
    other = open_store(url, schema=schema)
    try:
        logs = [SqlAuditLog(store.engine), SqlAuditLog(other.engine)]
        assert _hammer(logs, per_thread=10, threads=4) == []
    finally:
        other.close()
    log = SqlAuditLog(store.engine)
    assert [e.seq for e in log.entries(limit=MAX)] == list(range(1, 41))
    per_actor = {f"reviewer:t{k}": 0 for k in range(4)}
    for e in log.entries(limit=MAX):
        per_actor[e.actor] += 1
    assert set(per_actor.values()) == {10}
    assert log.verify().ok


def test_tail_gives_the_newest_in_order(store: SqlBankStore) -> None:
    log = SqlAuditLog(store.engine)
    for i in range(1, 8):
        log.append(ev(i, tenant="acme" if i % 2 else "globex"))
    assert [e.seq for e in log.tail(limit=3)] == [5, 6, 7]
    assert [e.seq for e in log.tail("globex", limit=2)] == [4, 6]
    assert [e.seq for e in log.tail(target_type="case", target_id="3")] == [3]
    assert log.tail("nobody") == []
    with pytest.raises(InvalidValue):
        log.tail(limit=10_001)


CHILD = textwrap.dedent(
    """
    import sys, time
    from childsafe.audit.base import AuditEvent
    from childsafe.storage import open_store
    from childsafe.storage.audit import SqlAuditLog

    url, schema = sys.argv[1], sys.argv[2] or None
    log = SqlAuditLog(open_store(url, schema=schema).engine)
    for i in range(int(sys.argv[3])):
        log.append(AuditEvent("acme", "system:child", "case.create", "case", str(i), {}))
        print(f"appended {i}", flush=True)
    time.sleep(120)
    """
)


def test_appended_entries_survive_the_process_being_killed(
    store: SqlBankStore, store_location: tuple[str, str | None]
) -> None:
    url, schema = store_location
    n = 4
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, url, schema or "", str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as child:
        try:
            assert child.stdout is not None
            for i in range(n):
                assert child.stdout.readline().strip() == f"appended {i}"
        finally:
            child.send_signal(signal.SIGKILL)  # no clean shutdown, no atexit, no dispose
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    other = open_store(url, schema=schema)  # a brand-new engine
    try:
        log = SqlAuditLog(other.engine)
        assert log.verify().entries == n
        assert log.append(ev(9)).seq == n + 1 and log.verify().ok
    finally:
        other.close()
