"""``childsafe audit`` and ``childsafe evidence`` against the real embedded database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from tests.cli.conftest import Run

from childsafe.config import Settings
from childsafe.evidence.base import Purpose
from childsafe.storage import open_store
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.models_audit import audit_log, evidence


@pytest.fixture
def ev(run: Run, tmp_path: Path) -> Iterator[SqlEvidenceStore]:
    """The evidence store of the database the CLI uses (same CHILDSAFE_HOME)."""
    store = open_store(f"sqlite:///{tmp_path / 'home' / 'childsafe.db'}")
    yield SqlEvidenceStore(store.engine, SqlAuditLog(store.engine), Settings())
    store.close()


def put(ev: SqlEvidenceStore, n: int, tenant: str = "acme") -> str:
    data = f"benign test file {n}".encode()
    return ev.put(tenant, data, purpose=Purpose.REVIEW, item_ref=f"upload:{n}", actor="a:x").id


def test_verify_an_empty_and_a_used_log(run: Run, ev: SqlEvidenceStore) -> None:
    res = run("audit", "verify")
    assert res.code == 0 and "0 entries" in res.out
    put(ev, 1)
    put(ev, 2)
    res = run("audit", "verify", "--json")
    assert res.code == 0
    head = ev.audit.entries()[-1]
    assert res.jsonl() == [
        {
            "ok": True,
            "entries": 2,
            "first_bad_seq": None,
            "problem": None,
            "head_seq": 2,
            "head_hash": head.hash,
        }
    ]


def test_verify_names_the_first_bad_entry(run: Run, ev: SqlEvidenceStore) -> None:
    for n in range(4):
        put(ev, n)
    with ev.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="a:y"))
    res = run("audit", "verify")
    assert res.code == 1 and "entry 3" in res.err and "Traceback" not in res.err
    got = run("audit", "verify", "--json").jsonl()[0]
    assert got["ok"] is False and got["first_bad_seq"] == 3 and got["entries"] == 2


def test_evidence_lifecycle_from_the_command_line(run: Run, ev: SqlEvidenceStore) -> None:
    a, b = put(ev, 1), put(ev, 2)
    put(ev, 3, tenant="globex")
    listed = run("evidence", "list", "--tenant", "acme", "--json").jsonl()
    assert {r["id"] for r in listed} == {a, b}
    assert all("benign" not in str(r) for r in listed)  # metadata only, never content
    assert run("evidence", "hold", a, "--tenant", "acme", "--reason", "order 9").code == 0
    refused = run("evidence", "destroy", a, "--tenant", "acme", "--reason", "x", "--yes")
    assert refused.code == 4 and "legal hold" in refused.err and "Traceback" not in refused.err
    held = run("evidence", "release", a, "--tenant", "acme", "--reason", "lifted", "--json")
    assert held.code == 0 and held.jsonl()[0]["legal_hold"] is False
    gone = run("evidence", "destroy", a, "--tenant", "acme", "--reason", "asked", "--yes", "--json")
    assert gone.code == 0 and gone.jsonl()[0]["destroyed_reason"] == "asked"
    assert [r["id"] for r in run("evidence", "list", "--tenant", "acme", "--json").jsonl()] == [b]
    every = run("evidence", "list", "--tenant", "acme", "--all", "--json").jsonl()
    assert {r["id"] for r in every} == {a, b}
    log = run("audit", "log", "--tenant", "acme", "--target-id", a, "--json").jsonl()
    assert [e["action"] for e in log] == [
        "evidence.put",
        "evidence.hold",
        "evidence.release",
        "evidence.destroy",
    ]
    assert log[-1]["actor"].startswith("cli:")
    assert run("audit", "verify").code == 0


def test_destroy_asks_first(run: Run, ev: SqlEvidenceStore) -> None:
    eid = put(ev, 1, tenant="default")
    res = run("evidence", "destroy", eid, "--reason", "asked", input="n\n")
    assert res.code == 4 and "not destroyed" in res.err
    assert ev.record("default", eid).destroyed_at is None
    assert run("evidence", "destroy", eid, "--reason", "asked", input="y\n").code == 0
    assert ev.record("default", eid).destroyed_at is not None


def test_purge_destroys_only_expired_unheld(run: Run, ev: SqlEvidenceStore) -> None:
    old, held, fresh = put(ev, 1), put(ev, 2), put(ev, 3)
    past = datetime.now(UTC) - timedelta(days=1)
    with ev.engine.begin() as conn:
        conn.execute(update(evidence).where(evidence.c.id.in_([old, held])).values(expires_at=past))
    ev.hold("acme", held, actor="lead:bo", reason="order 3")
    res = run("evidence", "purge", "--json")
    assert res.code == 0 and res.jsonl()[0]["destroyed"] == 1
    assert ev.record("acme", old).destroyed_reason == "retention expired"
    assert ev.record("acme", held).destroyed_at is None
    assert ev.record("acme", fresh).destroyed_at is None
    assert run("evidence", "purge").out.startswith("destroyed 0")


def test_audit_log_shows_the_newest(run: Run, ev: SqlEvidenceStore) -> None:
    ids = [put(ev, n) for n in range(5)]
    newest = run("audit", "log", "--limit", "2", "--json").jsonl()
    assert [e["seq"] for e in newest] == [4, 5]
    assert [e["target_id"] for e in newest] == ids[3:]
    table = run("audit", "log", "--tenant", "acme")
    assert table.code == 0 and "evidence.put" in table.out


def test_errors_are_one_line(run: Run, ev: SqlEvidenceStore) -> None:
    res = run("evidence", "hold", "ev_nope", "--tenant", "acme", "--reason", "r")
    assert res.code == 4 and "no evidence 'ev_nope'" in res.err and "Traceback" not in res.err
    bad = run("evidence", "list", "--tenant", "Not A Tenant")
    assert bad.code == 4 and "bad tenant name" in bad.err
    assert run("audit", "log", "--limit", "0").code == 2
    assert "legal hold" in run("evidence", "--help").out + run("evidence", "hold", "--help").out
    assert run("audit", "--help").code == 0
