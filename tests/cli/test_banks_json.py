"""`--json` on every `banks` command, the allow-list listing, and PostgreSQL via the URL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

Run = Any
PDQ_A = "f" * 64
PDQ_B = "0f" * 32
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _seed(run: Run, tmp_path: Path) -> None:
    f = tmp_path / "seed.jsonl"
    f.write_text(
        f'{{"hash_type": "pdq", "hash": "{PDQ_A}", "label": "l1"}}\n'
        f'{{"hash_type": "pdq", "hash": "{PDQ_B}", "label": "l1"}}\n'
        f'{{"hash_type": "md5", "hash": "{MD5}", "label": "étiquette ✓"}}\n',
        encoding="utf-8",
    )
    res = run("banks", "import", "b", str(f), "--json")
    assert res.code == 0, res.err
    assert res.jsonl()[0]["added"] == 3


def test_create_remove_allow_json(run: Run, tmp_path: Path) -> None:
    created = run("banks", "create", "b", "--pdq-radius", "20", "--json").jsonl()[0]
    assert created["name"] == "b" and created["pdq_radius"] == 20 and created["version"] == 0
    _seed(run, tmp_path)
    removed = run(
        "banks", "remove", "b", "--hash", f"pdq:{PDQ_A}", "--hash", f"md5:{MD5}", "--json"
    ).jsonl()[0]
    assert removed["removed"] == 2 and removed["version"] == 2  # one change, one version
    assert run("banks", "show", "b", "--json").jsonl()[0]["entry_count"] == 1
    added = run("banks", "allow", "b", f"pdq:{PDQ_B}", "--reason", "benign test", "--json")
    assert added.jsonl()[0] == {"bank": "b", "added": 1}
    listed = run("banks", "allow", "b", "--json").jsonl()
    assert [(a["hash_type"], a["value"], a["reason"]) for a in listed] == [
        ("pdq", PDQ_B, "benign test")
    ]
    undone = run("banks", "allow", "b", f"pdq:{PDQ_B}", "--undo", "--json").jsonl()[0]
    assert undone == {"bank": "b", "removed": 1}
    assert run("banks", "allow", "b", "--json").jsonl() == []


def test_allow_needs_a_reason(run: Run, tmp_path: Path) -> None:
    _seed(run, tmp_path)
    res = run("banks", "allow", "b", f"pdq:{PDQ_B}")
    assert res.code == 2 and "--reason" in res.err


def test_export_json_summary_and_unicode_round_trip(run: Run, tmp_path: Path) -> None:
    _seed(run, tmp_path)
    out = tmp_path / "out.jsonl"
    summary = run("banks", "export", "b", str(out), "--format", "jsonl", "--json").jsonl()[0]
    assert summary["entries"] == 3 and summary["path"] == str(out)
    assert "étiquette ✓" in out.read_text(encoding="utf-8")
    assert run("banks", "export", "b", "-", "--json").code == 2


def test_unknown_bank_is_a_clean_failure(run: Run) -> None:
    for args in (
        ("banks", "show", "nope"),
        ("banks", "export", "nope"),
        ("banks", "remove", "nope", "--hash", f"md5:{MD5}"),
    ):
        res = run(*args)
        assert res.code == 4, args
        assert "nope" in res.err and "Traceback" not in res.err


def test_export_to_a_missing_folder_is_a_clean_failure(run: Run, tmp_path: Path) -> None:
    _seed(run, tmp_path)
    res = run("banks", "export", "b", str(tmp_path / "no" / "such" / "out.csv"))
    assert res.code == 4, res.err
    assert "out.csv" in res.err and "Traceback" not in res.err


@pytest.mark.postgres
def test_same_journey_on_postgresql(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = os.environ.get(
        "CHILDSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = create_engine(base)
    schema = f"cli_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        monkeypatch.setenv("CHILDSAFE_DATABASE_URL", f"{base}?options=-csearch_path%3D{schema}")
        _seed(run, tmp_path)
        res = run("match", "--hash", f"pdq:{PDQ_A}", "--json")
        assert res.code == 1, res.err
        assert res.jsonl()[0]["matches"][0]["label"] == "l1"
        with admin.connect() as conn:
            n = conn.execute(text(f'SELECT count(*) FROM "{schema}".entries')).scalar()
        assert n == 3  # the rows really live in PostgreSQL
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
