"""A verdict a caller has received is in the decision log after the service is killed.

The service records each decision *before* it answers (``Screener._decide``), and the log's
``record`` returns only once the entry is committed. This test checks that promise end to
end, against the real ``childsafe serve`` process rather than an in-process app: it sends
screening requests from several threads, SIGKILLs the whole process group while requests are
still in flight (no shutdown handler, no flush, no atexit), starts the service again on the
same database, and reads the log back through ``GET /v1/decisions`` with an admin key.
Every request id that got a 2xx must be there, with the hash of what was sent and the
verdict that was returned. A second round kills the service right after a last answer.

Runs on SQLite (the default embedded database, WAL) and on PostgreSQL (a fresh schema in
the ``test`` database, selected through the URL the service reads, as ``childsafe serve``
would be configured in production).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.web.helpers import BENIGN, RISKY, photo_png

from childsafe.config import Settings
from childsafe.storage import open_store
from childsafe.tenancy.base import Scope

pytestmark = pytest.mark.slow

PG_URL = os.environ.get(
    "CHILDSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "restart-durability-test-secret-0123456789"
READY_TIMEOUT_S = 120.0
PHOTOS = ("astronaut", "coffee", "chelsea")


@dataclass
class Deployment:
    """What a ``childsafe serve`` process is started with, and the keys made for it."""

    env: dict[str, str]
    screen: dict[str, str] = field(default_factory=dict)
    admin: dict[str, str] = field(default_factory=dict)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A fresh database (SQLite file, or a PostgreSQL schema) with a tenant and two keys."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHILDSAFE_")}
    env |= {"CHILDSAFE_HOME": str(home), "CHILDSAFE_SECRET_KEY": SECRET}
    admin_engine = None
    schema = f"restart_{uuid.uuid4().hex[:10]}"
    if request.param == "postgres":
        admin_engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        try:
            with admin_engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:
            admin_engine.dispose()
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"PostgreSQL unreachable at {PG_URL} in CI: {exc}")
            pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}")
        env["CHILDSAFE_DATABASE_URL"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        settings = Settings(
            home=home, database_url=env.get("CHILDSAFE_DATABASE_URL"), secret_key=SECRET
        )
        store = open_store(settings.effective_database_url, settings=settings)
        try:
            store.access.create_tenant("acme")
            _, screen = store.access.create_key("acme", frozenset({Scope.SCREEN}))
            _, admin = store.access.create_key("acme", frozenset({Scope.ADMIN}))
        finally:
            store.close()
        yield Deployment(
            env,
            screen={"Authorization": f"Bearer {screen}"},
            admin={"Authorization": f"Bearer {admin}"},
        )
    finally:
        if admin_engine is not None:
            with admin_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin_engine.dispose()


def _serve_command(port: int) -> list[str]:
    """``childsafe serve``; the same factory under uvicorn where the command is not wired."""
    from childsafe.cli.main import cli

    common = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if "serve" in getattr(cli, "commands", {}):
        exe = Path(sys.executable).with_name("childsafe")
        return [str(exe), "serve", *common]
    return [sys.executable, "-m", "uvicorn", "childsafe.web.app:create_app", "--factory", *common]


class Server:
    """One service process in its own process group (so SIGKILL takes all of it)."""

    def __init__(self, deployment: Deployment, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                _serve_command(self.port),
                env=deployment.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the service exited ({self.proc.returncode}): {self.tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        pytest.fail(f"the service was not ready in {READY_TIMEOUT_S:.0f} s: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL the group and reap it; safe to call twice."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


@pytest.fixture
def serve(deployment: Deployment, tmp_path: Path) -> Iterator[Any]:
    """``serve()`` starts the service and waits for /readyz; all are killed at the end."""
    started: list[Server] = []

    def start() -> Server:
        server = Server(deployment, tmp_path / "serve.log")
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()


@dataclass
class Answer:
    request_id: str
    sha256: str
    decision: str


def _requests(round_: str, n: int) -> list[tuple[str, dict[str, Any]]]:
    """(expected sha256, httpx request kwargs): prompts (benign and the mildest risky one),
    some with the caller's own X-Request-ID, and a few uploads (hash-only screening)."""
    out = []
    for i in range(n):
        own_id = {"X-Request-ID": f"{round_}-{i}"} if i % 2 else {}
        if i % 10 == 9:
            data = photo_png(PHOTOS[i % len(PHOTOS)], 64 + i)  # distinct bytes per request
            out.append(
                (
                    hashlib.sha256(data).hexdigest(),
                    {
                        "url": "/v1/screen/image",
                        "params": {"kind": "image"},
                        "content": data,
                        "headers": {"Content-Type": "image/png", **own_id},
                    },
                )
            )
            continue
        prompt = f"{RISKY if i % 7 == 0 else BENIGN} ({round_} {i})"
        body = {"kind": "prompt", "text": prompt}
        sha = hashlib.sha256(prompt.encode()).hexdigest()
        out.append((sha, {"url": "/v1/screen/text", "json": body, "headers": own_id}))
    return out


def _send_until_killed(
    server: Server, deployment: Deployment, todo: list[tuple[str, dict[str, Any]]], kill_after: int
) -> list[Answer]:
    """Send ``todo`` from 4 threads; SIGKILL the service once ``kill_after`` answers are in,
    with other requests still in flight. Returns every 2xx answer received."""
    answers: list[Answer] = []
    lock = threading.Lock()
    enough = threading.Event()
    queue = list(reversed(todo))

    def worker() -> None:
        with httpx.Client(base_url=server.url, headers=deployment.screen, timeout=30) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    sha, kwargs = queue.pop()
                try:
                    r = client.post(**kwargs)
                except httpx.TransportError:
                    return  # the service is gone: this request was never answered
                if r.is_success:
                    body = r.json()
                    with lock:
                        answers.append(Answer(body["request_id"], sha, body["decision"]))
                        if len(answers) >= kill_after:
                            enough.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        assert enough.wait(timeout=120), f"only {len(answers)} answers: {server.tail()}"
    finally:
        server.kill()  # mid-flight: the other threads are waiting on their answers
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    with lock:
        return list(answers)


def _logged(server: Server, deployment: Deployment) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=server.url, headers=deployment.admin, timeout=30) as client:
        r = client.get("/v1/decisions", params={"limit": 1000})
    assert r.status_code == 200, r.text
    entries = r.json()["decisions"]
    ids = [e["request_id"] for e in entries]
    assert len(ids) == len(set(ids)), "a request id is logged twice"
    return {e["request_id"]: e for e in entries}


def _check(answers: list[Answer], logged: dict[str, dict[str, Any]]) -> None:
    missing = [a.request_id for a in answers if a.request_id not in logged]
    assert not missing, f"{len(missing)} answered request(s) missing from the log: {missing[:5]}"
    for a in answers:
        entry = logged[a.request_id]
        assert entry["content_sha256"] == a.sha256, a.request_id
        assert entry["decision"] == a.decision, a.request_id


def test_every_answered_request_survives_a_hard_kill(serve: Any, deployment: Deployment) -> None:
    first = serve()
    round1 = _send_until_killed(first, deployment, _requests("r1", 80), kill_after=40)
    assert first.proc.returncode == -signal.SIGKILL
    assert len(round1) >= 40

    second = serve()  # same database, fresh process
    logged = _logged(second, deployment)
    _check(round1, logged)
    # Some requests were in flight at the kill. They may or may not be logged (the log is
    # written before the answer), but nothing is logged that was never sent.
    sent = {sha for sha, _ in _requests("r1", 80)}
    assert {e["content_sha256"] for e in logged.values()} <= sent
    assert any(e["decision"] == "block" for e in logged.values())  # the risky prompts

    # Round 2: sequential, killed the instant the last answer arrives.
    round2 = []
    with httpx.Client(base_url=second.url, headers=deployment.screen, timeout=30) as client:
        for sha, kwargs in _requests("r2", 12):
            r = client.post(**kwargs)
            assert r.status_code == 200, r.text
            round2.append(Answer(r.json()["request_id"], sha, r.json()["decision"]))
    second.kill()

    third = serve()
    logged = _logged(third, deployment)
    _check(round1 + round2, logged)
    own = {a.request_id for a in round2 if a.request_id.startswith("r2-")}
    assert own == {f"r2-{i}" for i in range(12) if i % 2}  # caller ids key the entries
