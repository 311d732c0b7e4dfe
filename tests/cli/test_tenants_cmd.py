"""`childsafe tenants` and `childsafe keys` on SQLite and PostgreSQL (via the URL)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from childsafe.cli.tenants_cmd import keys, tenants
from childsafe.config import Settings
from childsafe.storage import open_store
from childsafe.tenancy.base import Scope

PG_URL = os.environ.get(
    "CHILDSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@click.group()
@click.pass_context
def root(ctx: click.Context) -> None:
    """The two groups under a root that builds Settings, as `childsafe` itself does."""
    ctx.obj = Settings()


root.add_command(tenants)
root.add_command(keys)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """CHILDSAFE_* pointing at a fresh SQLite home, or at a fresh PostgreSQL schema."""
    monkeypatch.setenv("CHILDSAFE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHILDSAFE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHILDSAFE_SECRET_KEY", raising=False)
    monkeypatch.delenv("CHILDSAFE_ENV", raising=False)
    if request.param == "sqlite":
        yield
        return
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    schema = f"cli_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {type(exc).__name__}")
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def run(db: None) -> Run:
    runner = CliRunner()

    def _run(*args: str) -> tuple[int, str, str]:
        res = runner.invoke(root, list(args), catch_exceptions=False)
        return res.exit_code, res.stdout, res.stderr

    return _run


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _verify(token: str) -> object:
    settings = Settings()
    store = open_store(settings.effective_database_url, settings=settings)
    try:
        return store.access.verify(token)
    finally:
        store.close()


def test_tenants_create_and_list(run: Run) -> None:
    code, out, _ = run("tenants", "create", "acme", "--display-name", "Acme", "--json")
    assert code == 0
    (made,) = _lines(out)
    assert (made["name"], made["display_name"]) == ("acme", "Acme")
    code, out, _ = run("tenants", "list", "--json")
    assert [t["name"] for t in _lines(out)] == ["acme", "default"]
    code, out, _ = run("tenants", "list")
    assert code == 0 and "acme" in out and "Acme" in out
    code, _, err = run("tenants", "create", "acme")
    assert code == 4 and "exists" in err and "Traceback" not in err
    code, _, err = run("tenants", "create", "Bad Name")
    assert code == 4 and "bad tenant name" in err


def test_key_lifecycle(run: Run) -> None:
    run("tenants", "create", "acme")
    code, out, err = run(
        "keys", "create", "--tenant", "acme", "--scope", "screen", "--scope", "banks:read",
        "--name", "web", "--json",
    )  # fmt: skip
    assert code == 0
    (key,) = _lines(out)
    token = str(key["token"])
    assert token.startswith(f"cs_{key['prefix']}_")
    assert key["scopes"] == ["banks:read", "screen"]
    assert "development secret" in err  # no CHILDSAFE_SECRET_KEY in this test
    principal = _verify(token)
    assert principal is not None
    assert principal.tenant == "acme"  # type: ignore[attr-defined]
    assert principal.scopes == {Scope.SCREEN, Scope.BANKS_READ}  # type: ignore[attr-defined]

    code, out, _ = run("keys", "list", "--tenant", "acme", "--json")
    (listed,) = _lines(out)
    assert "token" not in listed and token not in out
    assert (listed["key_id"], listed["name"], listed["revoked_at"]) == (key["key_id"], "web", None)
    code, out, _ = run("keys", "list", "--tenant", "acme")
    assert code == 0 and str(key["prefix"]) in out and token not in out

    code, out, _ = run("keys", "revoke", str(key["prefix"]), "--tenant", "acme", "--json")
    assert code == 0 and _lines(out) == [{"tenant": "acme", "key": key["prefix"], "revoked": True}]
    assert _verify(token) is None
    code, _, err = run("keys", "revoke", str(key["key_id"]), "--tenant", "acme")
    assert code == 4 and "no live key" in err


def test_plain_create_prints_only_the_token_on_stdout(run: Run) -> None:
    run("tenants", "create", "acme")
    code, out, err = run("keys", "create", "--tenant", "acme", "--scope", "admin")
    assert code == 0
    (token,) = out.split()
    assert _verify(token) is not None
    assert "cannot be shown again" in err and token not in err


def test_key_errors_are_one_line(run: Run) -> None:
    code, _, err = run("keys", "create", "--tenant", "nobody", "--scope", "screen")
    assert code == 4 and "no tenant named 'nobody'" in err and "Traceback" not in err
    code, _, err = run("keys", "create", "--tenant", "default", "--scope", "everything")
    assert code == 2 and "everything" in err
    code, _, err = run("keys", "create", "--tenant", "default")
    assert code == 2 and "--scope" in err


def test_production_refuses_the_development_secret(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHILDSAFE_ENV", "production")
    code, out, err = run("keys", "create", "--tenant", "default", "--scope", "screen")
    assert code == 4 and "CHILDSAFE_SECRET_KEY" in err and out == ""
    monkeypatch.setenv("CHILDSAFE_SECRET_KEY", "a-real-deployment-secret-0123456789")
    code, out, err = run("keys", "create", "--tenant", "default", "--scope", "screen")
    assert code == 0 and "development secret" not in err
    assert _verify(out.strip()) is not None
    monkeypatch.setenv("CHILDSAFE_SECRET_KEY", "some-other-secret")
    assert _verify(out.strip()) is None  # keys are bound to the secret they were made with
