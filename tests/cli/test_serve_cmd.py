"""``childsafe serve``: refuses bad production settings, runs the app factory under uvicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from childsafe.cli.main import cli
from childsafe.cli.serve_cmd import serve_command
from childsafe.config import Settings
from childsafe.storage import open_store
from childsafe.tenancy.base import Scope


def _invoke(*args: str) -> tuple[int, str]:
    """Through the root group when ``serve`` is registered there; else the command alone,
    with the settings the root group would have built from the environment."""
    if "serve" in cli.commands:
        res = CliRunner().invoke(cli, ["serve", *args])
    else:
        res = CliRunner().invoke(serve_command, list(args), obj=Settings())
    return res.exit_code, res.output + (res.stderr or "")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHILDSAFE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHILDSAFE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHILDSAFE_ENV", raising=False)
    monkeypatch.delenv("CHILDSAFE_SECRET_KEY", raising=False)
    return tmp_path / "home"


def test_production_with_default_secret_is_refused(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHILDSAFE_ENV", "production")
    code, out = _invoke()
    assert code == 4
    assert "refusing to start in production" in out and "CHILDSAFE_SECRET_KEY" in out
    assert "Traceback" not in out


def test_reload_with_workers_is_a_usage_error(home: Path) -> None:
    code, out = _invoke("--reload", "--workers", "2")
    assert code == 2 and "--reload" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SCRIPT = (
    "import sys; from childsafe.cli.main import cli; from childsafe.cli.serve_cmd import "
    "serve_command as s; cli.add_command(s) if 'serve' not in cli.commands else None; "
    "sys.exit(cli.main(sys.argv[1:]))"
)


@contextmanager
def _server(home: Path) -> Iterator[str]:
    """``childsafe serve`` in a real process; yields its base URL, SIGKILLs it after."""
    port = _free_port()
    env = {**os.environ, "CHILDSAFE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        yield base
    finally:
        proc.kill()  # no graceful shutdown: what was answered must already be durable
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def test_serves_over_http_and_a_killed_server_loses_no_decision(home: Path) -> None:
    """A real uvicorn process: health, auth, a screening; SIGKILL; the decision is still
    there after a restart."""
    with _server(home) as base:
        r = httpx.get(f"{base}/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert "server" not in r.headers  # no version banner
        r = httpx.post(f"{base}/v1/screen/text", json={"text": "hello"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        store = open_store(Settings().effective_database_url)
        try:
            store.access.create_tenant("acme")
            _, token = store.access.create_key("acme", frozenset({Scope.ADMIN}))
        finally:
            store.close()
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{base}/v1/screen/text", json={"text": "a cat on a sofa"}, headers=auth)
        assert r.status_code == 200, r.text
        rid = r.json()["request_id"]
        # The killed server's answer was given after the entry was committed.
    with _server(home) as base:
        r = httpx.get(f"{base}/v1/decisions/{rid}", headers=auth)
        assert r.status_code == 200, r.text
        assert (r.json()["request_id"], r.json()["source"]) == (rid, "api")
