"""``childsafe cases`` and ``childsafe reviewers`` through the real CLI (embedded SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.cli.conftest import Run

from childsafe.config import Settings
from childsafe.screening.base import ContentKind, DecisionEntry, PolicyRef, Source, Subject
from childsafe.storage import open_store

PW = "a long enough password"


def _record(n: int) -> None:
    settings = Settings()
    store = open_store(settings.effective_database_url, settings=settings)
    try:
        for i in range(n):
            store.decisions.record(
                DecisionEntry(
                    request_id=f"req-{i}",
                    tenant=settings.default_tenant,
                    created_at=datetime.now(UTC),
                    source=Source.API,
                    kind=ContentKind.IMAGE,
                    decision="review",
                    reasons=("classifier:image_risk:review",),
                    policy=PolicyRef("default", "1"),
                    content_sha256=f"{i:064x}",
                    subject=Subject(user_id=f"user-{i % 2}"),
                    score_summary={"image_risk.review": 0.7},
                    create_case=i != 2,  # one entry did not ask for a case
                )
            )
    finally:
        store.close()


def _scan_dir(tmp_path: Path) -> Path:
    out = tmp_path / "scan1"
    out.mkdir()
    table = pa.table(
        {
            "item_id": ["s/1", "s/2", None],
            "source": ["/data/set", "/data/set", "/data/set"],
            "md5": ["0" * 32, "1" * 32, None],
            "decision": ["block", "review", "review"],
            "reasons": [["match:kb:md5"], ["classifier:nsfw:explicit"], []],
        }
    )
    pq.write_table(table, out / "quarantine.parquet")
    return out


def test_reviewers_add_and_list(run: Run) -> None:
    r = run("reviewers", "add", "rita", "--password-stdin", "--json", input=PW + "\n")
    assert r.code == 0, r.err
    assert json.loads(r.out) | {"created_at": None} == {
        "username": "rita",
        "tenant": "default",
        "role": "reviewer",
        "display_name": "rita",
        "daily_reveal_limit": 50,
        "metadata_only": False,
        "created_at": None,
        "disabled_at": None,
    }
    r = run("reviewers", "add", "lena", "--role", "lead", input=f"{PW}\n{PW}\n")
    assert r.code == 0 and "added lead lena" in r.out
    assert PW not in r.out + r.err
    r = run("reviewers", "add", "rita", "--password-stdin", input=PW + "\n")
    assert r.code == 4 and "already has a reviewer 'rita'" in flat(r.err)
    r = run("reviewers", "add", "tiny", "--password-stdin", input="abc\n")
    assert r.code == 4 and "password must be" in flat(r.err)
    listed = run("reviewers", "list", "--json").jsonl()
    assert [(x["username"], x["role"]) for x in listed] == [("lena", "lead"), ("rita", "reviewer")]
    assert "password" not in json.dumps(listed)
    assert "rita" in run("reviewers", "list").out


def test_intake_from_decisions_is_idempotent(run: Run) -> None:
    assert run("cases", "list", "--json").out == ""  # migrates a fresh home
    _record(4)
    r = run("cases", "intake", "--from-decisions", "--json")
    assert r.code == 0, r.err
    res = json.loads(r.out)
    assert (res["findings"], len(res["cases"]), res["errors"]) == (3, 2, [])
    again = json.loads(run("cases", "intake", "--from-decisions", "--json").out)
    assert again["cases"] == res["cases"] and again["items"] == 3
    listed = run("cases", "list", "--json").jsonl()
    assert sorted(c["item_count"] for c in listed) == [1, 2]
    assert {c["subject"]["id"] for c in listed} == {"user-0", "user-1"}
    shown = json.loads(run("cases", "show", str(listed[0]["id"]), "--json").out)
    assert shown["items"][0]["file_viewed"] is False and shown["decisions"] == []
    assert "image_risk" in run("cases", "show", str(listed[0]["id"])).out
    assert run("cases", "list", "--state", "closed", "--json").out == ""
    assert "user-" in run("cases", "list").out


def test_intake_from_scan(run: Run, tmp_path: Path) -> None:
    out = _scan_dir(tmp_path)
    r = run("cases", "intake", "--from-scan", str(out), "--json")
    assert r.code == 3  # one broken row: an error result, the rest are cases
    res = json.loads(r.out)
    assert res["findings"] == 2 and len(res["cases"]) == 1 and len(res["errors"]) == 1
    assert "item_id and source" in flat(r.err)
    (case,) = run("cases", "list", "--json").jsonl()
    assert (case["priority"], case["item_count"], case["sources"]) == (1, 2, ["dataset_scan"])
    assert json.loads(run("cases", "intake", "--from-scan", str(out), "--json").out)["items"] == 2
    assert run("cases", "list", "--json").jsonl()[0]["item_count"] == 2


def flat(text: str) -> str:
    """stderr without rich's line wrapping."""
    return " ".join(text.split())


def test_usage_and_failures_are_one_line(run: Run, tmp_path: Path) -> None:
    r = run("cases", "intake")
    assert r.code == 2 and "exactly one of" in flat(r.err)
    r = run("cases", "intake", "--from-decisions", "--from-scan", str(tmp_path))
    assert r.code == 2
    r = run("cases", "intake", "--from-scan", str(tmp_path))
    assert r.code == 4 and "no quarantine.parquet" in flat(r.err)
    (tmp_path / "quarantine.parquet").write_bytes(b"not parquet")
    r = run("cases", "intake", "--from-scan", str(tmp_path))
    assert r.code == 4 and "not a readable Parquet file" in flat(r.err)
    r = run("cases", "show", "12345")
    assert r.code == 4 and "has no case 12345" in flat(r.err) and "Traceback" not in flat(r.err)
    r = run("cases", "list", "--tenant", "Not A Slug", "--json")
    assert r.code == 4 and "bad tenant name 'Not A Slug'" in flat(r.err)


def test_escalate_overdue(run: Run) -> None:
    _record(2)
    run("cases", "intake", "--from-decisions")
    r = run("cases", "escalate-overdue", "--json")
    assert r.code == 0 and json.loads(r.out) == {"escalated": 0}
    assert run("cases", "list", "--overdue", "--json").out == ""
    assert "escalated 0 cases" in run("cases", "escalate-overdue").out
