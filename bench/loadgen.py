"""Open-loop HTTP load generator, and the service launcher ``bench_service_load.py`` uses.

    python bench/loadgen.py SPEC.json OUT.json

Why open-loop. A closed-loop client (N workers, each sending its next request when the last
one answers) slows down exactly when the server does, so it never measures the queueing a
real burst of users causes: "coordinated omission". Here request ``i`` is *due* at
``t0 + i / rate`` whatever happened before, and its latency runs from that due time to the
last byte of the answer. Time spent waiting for a free connection, in the server's accept
queue or in its thread pool all counts, as it would for a user.

Why a hand-written HTTP/1.1 client. The generator shares two cores with the server it
measures; httpx costs several times more CPU per request than writing pre-built request
bytes to a keep-alive socket and reading ``Content-Length`` bytes back, and every
millisecond the client burns is one the server does not get. ``send_lag`` in the output
says how late the scheduler fired: when it grows, the client (not the server) is the limit.

A ``closed`` mode (``concurrency`` workers back to back) is kept for one purpose: the
saturation throughput of image screening, compared with the in-process classifier rate.

The launcher half (:class:`Service`) starts ``childsafe serve`` (or, where that command is
not registered yet, the same app factory under ``python -m uvicorn``) in its own process
group, waits for ``/readyz`` and always kills the whole group.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

APP_FACTORY = "childsafe.web.app:create_app"

# -- payloads -----------------------------------------------------------------------------

_SUBJECTS = (
    "a red fox",
    "an old lighthouse",
    "a bowl of ramen",
    "two cats on a sofa",
    "a mountain lake",
    "a vintage bicycle",
    "a robot gardener",
    "a city street in the rain",
    "a family picnic",
    "a school science fair",
)
_SETTINGS = (
    "at dawn",
    "under a full moon",
    "in early spring",
    "on a snowy afternoon",
    "beside a quiet harbour",
    "in a busy market",
    "after a summer storm",
    "in soft window light",
)
_STYLES = (
    "as a watercolor painting",
    "in the style of a children's book",
    "as a photo at golden hour",
    "as a pencil sketch",
    "in pixel art",
)
_REQUESTS = (
    "help my 9 year old with fractions homework",
    "write a birthday card for my 7 year old nephew",
    "summarise the history of the printing press",
    "a packing list for a weekend camping trip",
    "explain photosynthesis to a 10 year old",
)
_TOPICS = ("in five bullet points", "for a newsletter", "in plain words", "with a short example")
# The mildest wording that exercises the detector (a minor mention next to an adult-only
# term, nothing else): the service must block these, and they take the same code path.
RISKY_TEMPLATE = "nsfw {noun} of a {age} year old"
_RISKY_NOUNS = ("picture", "photo", "image")


def text_prompts(n: int = 200, risky_share: float = 0.1, seed: int = 2025) -> list[str]:
    """``n`` short prompts: benign ones from templates plus ``risky_share`` risky ones.

    Benign prompts are distinct (up to the 420 template combinations), so a result cache
    added to the service later could not flatter this benchmark; risky ones cycle through
    18 variants of the one template."""
    rng = random.Random(seed)
    n_risky = round(n * risky_share)
    out = [
        RISKY_TEMPLATE.format(noun=_RISKY_NOUNS[i % 3], age=10 + (i // 3) % 6)
        for i in range(n_risky)
    ]
    benign = [f"{s} {w} {st}" for s in _SUBJECTS for w in _SETTINGS for st in _STYLES]
    benign += [f"{r} {t}" for r in _REQUESTS for t in _TOPICS]
    rng.shuffle(benign)
    out += [benign[i % len(benign)] for i in range(n - n_risky)]
    rng.shuffle(out)
    return out


IMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "immunohistochemistry")


def image_jpegs(long_side: int = 512, photos: Sequence[str] = IMAGE_PHOTOS) -> list[bytes]:
    """Benign scikit-image photos resized to ``long_side`` pixels, as JPEG q90."""
    import io

    import skimage.data
    from PIL import Image

    out = []
    for name in photos:
        image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        scale = long_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        buf = io.BytesIO()
        image.resize(size, Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


# -- the load generator -------------------------------------------------------------------


@dataclass
class Spec:
    """One load step. ``bodies`` are sent round-robin (after a seeded shuffle)."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    bodies: list[bytes]
    rate: float = 50.0  # requests/s (open mode)
    duration_s: float = 10.0
    warmup_s: float = 0.0  # same schedule first, results discarded
    mode: str = "open"  # or "closed"
    concurrency: int = 4  # closed mode
    max_connections: int = 256
    timeout_s: float = 10.0
    seed: int = 1

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["bodies"] = [base64.b64encode(b).decode() for b in self.bodies]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Spec:
        d = dict(d)
        d["bodies"] = [base64.b64decode(b) for b in d["bodies"]]
        return cls(**d)


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    keep_alive, chunked = True, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        return status, b"".join(p[:-2] for p in parts), keep_alive
    if length is None:
        return status, await reader.read(), False
    return status, await reader.readexactly(length), keep_alive


class _Pool:
    """Keep-alive connections, opened on demand up to ``limit``; waiters queue in order."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: asyncio.Queue[_Conn] = asyncio.Queue()
        self.opened = 0
        self.peak = 0

    async def get(self) -> _Conn:
        if not self.idle.empty():
            return self.idle.get_nowait()
        if self.opened < self.limit:
            self.opened += 1
            self.peak = max(self.peak, self.opened)
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except BaseException:
                self.opened -= 1
                raise
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Conn(reader, writer)
        return await self.idle.get()

    def put(self, conn: _Conn, reusable: bool) -> None:
        if reusable:
            self.idle.put_nowait(conn)
        else:
            conn.close()
            self.opened -= 1

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait().close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx only
    status: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)
    first_due: float = math.inf
    last_done: float = 0.0


_DECISIONS = (b'"decision":"allow"', b'"decision":"review"', b'"decision":"block"')


def _request_bytes(spec: Spec, body: bytes) -> bytes:
    lines = [f"POST {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}"]
    lines += [f"{k}: {v}" for k, v in spec.headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _one(pool: _Pool, raw: bytes, due: float, timeout: float, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    conn: _Conn | None = None
    try:
        async with asyncio.timeout(timeout):
            conn = await pool.get()
            conn.writer.write(raw)
            await conn.writer.drain()
            status, body, keep_alive = await _read_response(conn.reader)
    except TimeoutError:
        tally.errors["timeout"] += 1
        if conn is not None:
            pool.put(conn, reusable=False)
        return
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        tally.errors[type(exc).__name__] += 1
        if conn is not None:
            pool.put(conn, reusable=False)
        return
    done = loop.time()
    pool.put(conn, reusable=keep_alive)
    tally.status[str(status)] += 1
    tally.last_done = max(tally.last_done, done)
    if 200 <= status < 300:
        tally.latencies.append(done - due)
        for marker, name in zip(_DECISIONS, ("allow", "review", "block"), strict=True):
            if marker in body:
                tally.decisions[name] += 1
                break


async def _open_loop(spec: Spec, pool: _Pool, raws: list[bytes], seconds: float) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally()
    n = max(1, round(spec.rate * seconds))
    tasks = []
    t0 = loop.time() + 0.02
    tally.first_due = t0
    for i in range(n):
        due = t0 + i / spec.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tally.lags.append(max(0.0, loop.time() - due))
        raw = raws[i % len(raws)]
        tasks.append(asyncio.create_task(_one(pool, raw, due, spec.timeout_s, tally)))
    await asyncio.gather(*tasks)
    return tally


async def _closed_loop(spec: Spec, pool: _Pool, raws: list[bytes], seconds: float) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally()
    tally.first_due = loop.time()
    end = tally.first_due + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while loop.time() < end:
            i = next(counter)
            failed = sum(tally.errors.values())
            await _one(pool, raws[i % len(raws)], loop.time(), spec.timeout_s, tally)
            if sum(tally.errors.values()) > failed:
                await asyncio.sleep(0.05)  # a dead server refuses at once: do not spin

    await asyncio.gather(*(worker() for _ in range(spec.concurrency)))
    return tally


def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (no interpolation: p99 of 100 values is the 99th)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def summary(spec: Spec, tally: Tally, cpu_s: float, peak: int) -> dict[str, Any]:
    ms = [x * 1000.0 for x in tally.latencies]
    ok = len(ms)
    span = max(tally.last_done - tally.first_due, 1e-9) if ok else spec.duration_s
    offered = spec.rate if spec.mode == "open" else None
    if ok and spec.mode == "open":  # a step that keeps up spans its whole schedule
        span = max(span, spec.duration_s)
    sent = sum(tally.status.values()) + sum(tally.errors.values())
    non_2xx = sum(n for s, n in tally.status.items() if not s.startswith("2"))
    return {
        "mode": spec.mode,
        "offered_rps": offered,
        "concurrency": spec.concurrency if spec.mode == "closed" else None,
        "duration_s": spec.duration_s,
        "sent": sent,
        "ok": ok,
        "errors": non_2xx + sum(tally.errors.values()),
        "status": dict(tally.status),
        "transport_errors": dict(tally.errors),
        "decisions": dict(tally.decisions),
        "achieved_rps": ok / span,
        "latency_ms": {
            "p50": pct(ms, 0.50) if ms else None,
            "p90": pct(ms, 0.90) if ms else None,
            "p99": pct(ms, 0.99) if ms else None,
            "max": max(ms) if ms else None,
            "mean": sum(ms) / ok if ms else None,
        },
        "send_lag_ms": {
            "p99": pct(tally.lags, 0.99) * 1000.0 if tally.lags else None,
            "max": max(tally.lags) * 1000.0 if tally.lags else None,
        },
        "connections_peak": peak,
        "client_cpu_s": cpu_s,
    }


async def run_spec(spec: Spec) -> dict[str, Any]:
    """Warm up (discarded), then one measured step; the summary as a JSON-able dict."""
    rng = random.Random(spec.seed)
    raws = [_request_bytes(spec, b) for b in spec.bodies]
    rng.shuffle(raws)
    pool = _Pool(spec.host, spec.port, spec.max_connections)
    step = _open_loop if spec.mode == "open" else _closed_loop
    try:
        if spec.warmup_s > 0:
            await step(spec, pool, raws, spec.warmup_s)
        cpu0 = _cpu()
        tally = await step(spec, pool, raws, spec.duration_s)
        return summary(spec, tally, _cpu() - cpu0, pool.peak)
    finally:
        pool.close()


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: loadgen.py SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = Spec.from_json(json.loads(Path(args[0]).read_text()))
    result = asyncio.run(run_spec(spec))
    Path(args[1]).write_text(json.dumps(result, indent=1))
    return 0


def run_in_subprocess(spec: Spec, workdir: Path) -> dict[str, Any]:
    """Run one step in a separate Python process (so the client's event loop and GIL are
    not the measuring process's), bounded by the step's own length plus its timeouts."""
    spec_file, out_file = workdir / "spec.json", workdir / "out.json"
    spec_file.write_text(json.dumps(spec.to_json()))
    out_file.unlink(missing_ok=True)
    limit = spec.warmup_s + spec.duration_s + 2 * spec.timeout_s + 30
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(spec_file), str(out_file)],
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out_file.read_text())
    return result


# -- the service under test ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_registered() -> bool:
    """Whether ``childsafe serve`` exists in this checkout (it is being wired in)."""
    from childsafe.cli.main import cli

    return "serve" in getattr(cli, "commands", {})


def childsafe_cli() -> list[str]:
    exe = Path(sys.executable).with_name("childsafe")
    return [str(exe)] if exe.exists() else [shutil.which("childsafe") or "childsafe"]


def cli_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run ``childsafe ARGS --json`` and parse its one JSON line."""
    proc = subprocess.run(
        [*childsafe_cli(), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"childsafe {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _get(host: str, port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


# -- proposed fixes, measured by ``--patch`` (never the shipped service) --------------------
#
# * ``face-lock``: dlib's face detector is not thread-safe, and the service runs image
#   screening in its thread pool, so two image requests at once can crash a worker
#   (SIGSEGV, "corrupted double-linked list"). The patch puts one lock around detection.
# * ``nodelay``: with ``--workers N`` uvicorn binds the listening socket itself with
#   ``proto=0``; accepted sockets inherit it and asyncio then skips ``TCP_NODELAY``, so
#   Nagle holds each response body until the client's delayed ACK (~40 ms on Linux;
#   Kludex/uvicorn#3149). The patch sets ``TCP_NODELAY`` when a connection is made.
PATCHES = ("face-lock", "nodelay")


def create_app_with_face_lock() -> Any:
    """The service's app with one lock around dlib face detection (``face-lock``)."""
    import threading

    from childsafe.classifiers.image import age
    from childsafe.web.app import create_app

    lock = threading.Lock()
    detect = age._FaceModels.detect

    def locked(self: Any, entry: Any, max_side: int) -> Any:
        with lock:
            return detect(self, entry, max_side)

    age._FaceModels.detect = locked  # type: ignore[method-assign]
    return create_app()


def _nodelay_protocol() -> type:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class NoDelayH11Protocol(H11Protocol):
        """uvicorn's h11 protocol that turns Nagle off on every connection (``nodelay``)."""

        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    return NoDelayH11Protocol


def __getattr__(name: str) -> Any:
    """``loadgen:NoDelayH11Protocol`` for ``uvicorn --http``, built only when asked for (the
    load-generator process never imports uvicorn)."""
    if name == "NoDelayH11Protocol":
        return _nodelay_protocol()
    raise AttributeError(name)


class Service:
    """``childsafe serve`` in its own process group: ``start()``, ``kill()``, ``stop()``.

    With ``patches`` (see :data:`PATCHES`) the same app factory runs under ``python -m
    uvicorn`` with the proposed fixes applied: a measurement of the fix, labelled as such."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int = 1,
        host: str = "127.0.0.1",
        patches: Sequence[str] = (),
    ) -> None:
        unknown = set(patches) - set(PATCHES)
        if unknown:
            raise ValueError(f"unknown patch(es) {sorted(unknown)}: choose from {PATCHES}")
        self.env, self.workers, self.host = env, workers, host
        self.patches = tuple(sorted(set(patches)))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env["CHILDSAFE_HOME"]) / f"serve-{os.getpid()}.log"
        if self.patches:
            self.launcher = f"python -m uvicorn, PATCHED: {', '.join(self.patches)}"
        elif serve_registered():
            self.launcher = "childsafe serve"
        else:
            self.launcher = "python -m uvicorn"

    def command(self) -> list[str]:
        common = ["--host", self.host, "--port", str(self.port), "--workers", str(self.workers)]
        if self.launcher == "childsafe serve":
            return [*childsafe_cli(), "serve", *common, "--log-level", "warning"]
        factory = APP_FACTORY
        extra: list[str] = []
        if self.patches:
            extra = ["--app-dir", str(Path(__file__).resolve().parent)]
        if "face-lock" in self.patches:
            factory = "loadgen:create_app_with_face_lock"
        if "nodelay" in self.patches:
            extra += ["--http", "loadgen:NoDelayH11Protocol"]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            *extra,
            "--no-server-header",
            "--log-level",
            "warning",
            *common,
        ]

    def start(self, ready_timeout_s: float = 120.0, consecutive: int = 5) -> None:
        """Start and wait until ``consecutive`` fresh connections in a row get 200 from
        ``/readyz`` (with several workers, one answer says nothing about the others)."""
        self.port = free_port()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: workers die with it
            )
        deadline = time.monotonic() + ready_timeout_s
        streak = 0
        while streak < consecutive:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}): {self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"not ready after {ready_timeout_s:.0f} s: {self.log()}")
            try:
                streak = streak + 1 if _get(self.host, self.port, "/readyz") == 200 else 0
            except OSError:
                streak = 0
            if streak < consecutive:
                time.sleep(0.2 if streak == 0 else 0.02)

    def log(self, tail: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no log)"

    def pids(self) -> list[int]:
        """The server and its worker processes (for CPU accounting)."""
        if self.proc is None:
            return []
        import psutil

        try:
            parent = psutil.Process(self.proc.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids():
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def kill(self) -> None:
        """SIGKILL the whole group now: no shutdown handlers, no flushes."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace_s``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()  # stragglers of the group, if any


if __name__ == "__main__":
    sys.exit(main())
