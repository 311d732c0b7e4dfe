"""Load test of ``childsafe serve``: text p99 at fixed request rates, image throughput.

    python bench/bench_service_load.py                     # full run (about 5 minutes)
    python bench/bench_service_load.py --quick             # smoke run (about 20 s)
    python bench/bench_service_load.py --workers 1,2 --text-rates 50,100,200,300 \\
        --image-rates 0.5x,0.8x,1x --duration 10 --json out.json
    python bench/bench_service_load.py --database-url postgresql+psycopg://...  # PG log
    python bench/bench_service_load.py --patch face-lock --patch nodelay  # proposed fixes

Issue 5's targets: **text screening p99 ≤ 25 ms at 200 requests/s on 2 cores**, and **image
screening throughput within 80 % of the in-process classifier rate**.

How. The real service runs as its own process (``childsafe serve`` on 127.0.0.1, an
ephemeral port, SQLite in a temporary ``CHILDSAFE_HOME``, a tenant and a ``screen`` key made
with the CLI); a *separate* load-generator process (``bench/loadgen.py``) sends requests
open-loop, on a fixed schedule whatever the answers, so latency includes queueing. Each
rate runs for ``--duration`` seconds after an untimed warm-up; between steps the bench waits
until the server is idle, so one overloaded step does not spill into the next.

Baselines in the same run, measured before the service starts (so nothing competes):
``Screener.screen`` of the same prompts in process (with the SQLite decision log, as the
service runs it), and ``image_risk`` classifying the same JPEGs in one process, one image at
a time: the rate the 80 % refers to. ``Screener.screen`` of the images is shown too, which
splits the gap into screening work (hashes, bank lookup, log) and HTTP. The profile rows time
each stage of a text request in process (key check, body parsing, model, decision-log commit,
the whole ASGI app without a socket); the server's CPU per request, read from its processes
during each step, adds what the HTTP server itself costs.

Fairness notes, printed with the figures: the generator shares the machine's cores with the
server (its own CPU time is reported), the per-key rate limit is raised for the run
(``CHILDSAFE_RATE_LIMIT_PER_MINUTE``) so it measures screening rather than throttling, and
the 1-minute load average before and after says how busy the machine was otherwise.

``--patch`` runs the same app with a proposed fix applied (``loadgen.PATCHES``: a lock
around dlib face detection, ``TCP_NODELAY`` with several workers). Such a run measures the
fix, not the shipped service, and its header says ``PATCHED``. A server process that dies
during a step is reported (``server crashed``), left out of the verdicts and restarted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # bench/ is not a package: found through sys.path above

TARGET_P99_MS = 25.0
TARGET_RATE = 200.0
TARGET_IMAGE_RATIO = 0.8
TENANT = "bench"


# -- baselines and the stage profile (in this process, before the service starts) -------------


def _times(call: Callable[[int], object], n: int, warmup: int) -> list[float]:
    out = []
    for i in range(n + warmup):
        start = time.perf_counter()
        call(i)
        if i >= warmup:
            out.append(time.perf_counter() - start)
    return out


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    from childsafe.classifiers.evaluation import latency_summary

    return latency_summary(seconds)


def baselines(
    prompts: list[str], images: list[bytes], n_text: int, image_rounds: int, home: Path
) -> dict[str, Any]:
    """In-process ``Screener.screen`` text latency and image rates, on this run's payloads."""
    from childsafe.classifiers.image.risk import ImageRiskClassifier
    from childsafe.config import Settings
    from childsafe.content.base import Item
    from childsafe.screening.base import ContentKind, ScreenRequest
    from childsafe.screening.screener import Screener
    from childsafe.storage import open_store

    settings = Settings(home=home, secret_key=secrets.token_urlsafe(24))
    store = open_store(f"sqlite:///{home / 'baseline.db'}", settings=settings)
    try:
        screener = Screener(banks_for=store.for_tenant, decision_log=store.decisions)
        screener.warm_up(TENANT)

        def screen_text(i: int) -> object:
            text = prompts[i % len(prompts)]
            return screener.screen(ScreenRequest(ContentKind.PROMPT, TENANT, text=text))

        text = _times(screen_text, n_text, warmup=20)
        clf = ImageRiskClassifier()
        clf.setup()
        n_img = image_rounds * len(images)

        def classify(i: int) -> object:
            blob = images[i % len(images)]
            return clf.classify([Item.from_bytes(blob, id=f"b{i}")])

        def screen_image(i: int) -> object:
            blob = images[i % len(images)]
            req = ScreenRequest(ContentKind.GENERATED_IMAGE, TENANT, data=blob)
            return screener.screen(req)

        classified = _times(classify, n_img, warmup=len(images))
        screened = _times(screen_image, n_img, warmup=len(images))
    finally:
        store.close()
    return {
        "text_screen": _ms(text),
        "image_risk": {**_ms(classified), "images_per_s": len(classified) / sum(classified)},
        "image_screen": {**_ms(screened), "images_per_s": len(screened) / sum(screened)},
    }


def _classify_worker(images: list[bytes], rounds: int, start: Any) -> tuple[int, float]:
    """One process of :func:`parallel_image_rate`: load, warm up, wait for the others, time."""
    from childsafe.classifiers.image.risk import ImageRiskClassifier
    from childsafe.content.base import Item

    clf = ImageRiskClassifier()
    for i, blob in enumerate(images):  # warm-up: models loaded, runtimes allocated
        clf.classify([Item.from_bytes(blob, id=f"w{i}")])
    start.wait(timeout=300)
    t0 = time.perf_counter()
    for r in range(rounds):
        for i, blob in enumerate(images):
            clf.classify([Item.from_bytes(blob, id=f"{r}-{i}")])
    return rounds * len(images), time.perf_counter() - t0


def parallel_image_rate(images: list[bytes], rounds: int, procs: int) -> dict[str, float]:
    """``image_risk`` in ``procs`` processes at once (one per core; threads cannot be used:
    dlib's face detector is not thread-safe): the in-process rate of the whole machine."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(procs + 1)
        with ProcessPoolExecutor(procs, mp_context=ctx) as pool:
            futures = [pool.submit(_classify_worker, images, rounds, start) for _ in range(procs)]
            start.wait(timeout=300)
            done = [f.result(timeout=600) for f in futures]
    images_done = sum(n for n, _ in done)
    return {
        "processes": procs,
        "images": images_done,
        "images_per_s": images_done / max(t for _, t in done),
    }


def stage_profile(prompts: list[str], n: int, home: Path) -> dict[str, float]:
    """Median ms per stage of one text request, in process (see the module docstring)."""
    from childsafe.classifiers.text.risk import TextRiskClassifier
    from childsafe.config import Settings
    from childsafe.content.base import Item
    from childsafe.screening.base import ContentKind, ScreenRequest
    from childsafe.screening.memory_log import MemoryDecisionLog
    from childsafe.screening.screener import Screener
    from childsafe.storage import open_store
    from childsafe.tenancy.base import Scope
    from childsafe.web.app import create_app
    from childsafe.web.routes.screen import ScreenTextIn
    from childsafe.web.schemas import VerdictOut

    settings = Settings(
        home=home, secret_key=secrets.token_urlsafe(24), rate_limit_per_minute=10**9
    )
    store = open_store(f"sqlite:///{home / 'profile.db'}", settings=settings)
    try:
        store.access.create_tenant(TENANT)
        _, token = store.access.create_key(TENANT, frozenset({Scope.SCREEN}))
        bodies = [json.dumps({"kind": "prompt", "text": p}).encode() for p in prompts]
        clf = TextRiskClassifier()
        clf.setup()
        memory = Screener(decision_log=MemoryDecisionLog(), settings=settings)
        durable = Screener(decision_log=store.decisions, settings=settings)
        verdict = memory.screen(ScreenRequest(ContentKind.PROMPT, TENANT, text=prompts[0]))
        entry = memory.decision_log.get(TENANT, verdict.request_id)
        assert entry is not None

        def record(i: int) -> None:
            store.decisions.record(dataclasses.replace(entry, request_id=uuid.uuid4().hex))

        def pick(i: int) -> str:
            return prompts[i % len(prompts)]

        stages: dict[str, Callable[[int], object]] = {
            "auth: key lookup (SELECT + HMAC)": lambda i: store.access.verify(token),
            "body: JSON parse + validation": lambda i: ScreenTextIn.model_validate_json(
                bodies[i % len(bodies)]
            ),
            "model: text_risk.classify": lambda i: clf.classify([Item(id=str(i), text=pick(i))]),
            "screener, memory log (model included)": lambda i: memory.screen(
                ScreenRequest(ContentKind.PROMPT, TENANT, text=pick(i))
            ),
            "screener, SQLite log (model included)": lambda i: durable.screen(
                ScreenRequest(ContentKind.PROMPT, TENANT, text=pick(i))
            ),
            "decision log: one SQLite commit": record,
            "response: VerdictOut + JSON": lambda i: VerdictOut.model_validate(
                verdict.to_dict()
            ).model_dump_json(),
        }
        out = {
            name: statistics.median(_times(f, n, warmup=10)) * 1000 for name, f in stages.items()
        }
        out["ASGI app in process, no socket (all of the above)"] = _asgi_ms(
            create_app(settings, store=store, warm_up=False), bodies, token, n
        )
    finally:
        store.close()
    return out


def _asgi_ms(app: Any, bodies: list[bytes], token: str, n: int) -> float:
    """Median ms of one text request through the whole ASGI app (middleware, routing,
    dependencies, the route in the thread pool, response model), driven by raw ASGI
    messages: no socket, no HTTP parser and no client library in the figure."""
    base_headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]

    async def one(body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/screen/text",
            "raw_path": b"/v1/screen/text",
            "query_string": b"",
            "root_path": "",
            "headers": [*base_headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def run() -> float:
        async with app.router.lifespan_context(app):
            times = []
            for i in range(n + 10):
                start = time.perf_counter()
                status = await one(bodies[i % len(bodies)])
                if status != 200:
                    raise RuntimeError(f"in-process app answered {status}")
                if i >= 10:
                    times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    return asyncio.run(run())


# -- the service steps --------------------------------------------------------------------------


def service_env(home: Path, database_url: str | None, tenant: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHILDSAFE_")}
    env |= {
        "CHILDSAFE_HOME": str(home),
        "CHILDSAFE_SECRET_KEY": secrets.token_urlsafe(32),
        "CHILDSAFE_RATE_LIMIT_PER_MINUTE": str(10**9),  # measure screening, not throttling
        "CHILDSAFE_DEFAULT_TENANT": tenant,  # warm-up loads this tenant's models
    }
    if database_url:
        env["CHILDSAFE_DATABASE_URL"] = database_url
    return env


def settle(service: loadgen.Service, timeout_s: float = 60.0) -> None:
    """Wait until the server uses under 5 % of a core (its backlog from an overloaded step
    is worked off), so the next step starts from an idle server."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        c0 = service.cpu_seconds()
        time.sleep(0.5)
        if service.cpu_seconds() - c0 < 0.025:
            return


def step(
    service: loadgen.Service, spec: loadgen.Spec, workdir: Path, warmup_s: float
) -> dict[str, Any]:
    """One measured step (after an untimed warm-up at the same rate), with server CPU."""
    if warmup_s > 0:
        loadgen.run_in_subprocess(loadgen.Spec(**{**vars(spec), "duration_s": warmup_s}), workdir)
    settle(service)
    if service.proc is not None and service.proc.poll() is not None:
        empty = loadgen.summary(spec, loadgen.Tally(), 0.0, 0)
        return empty | {
            "server_cpu_ms_per_req": None,
            "server_cores_busy": None,
            "load_avg_1m": os.getloadavg()[0],
            "died_in_warmup": True,
        }
    load_1m = os.getloadavg()[0]
    cpu0 = service.cpu_seconds()
    pids = set(service.pids())
    wall0 = time.monotonic()
    result = loadgen.run_in_subprocess(spec, workdir)
    wall = time.monotonic() - wall0  # the schedule plus the drain of a backlog, if any
    cpu = service.cpu_seconds() - cpu0
    if pids != set(service.pids()):  # a process died: its CPU time went with it
        result["server_cpu_ms_per_req"] = result["server_cores_busy"] = None
    else:
        result["server_cpu_ms_per_req"] = cpu * 1000 / max(1, result["sent"])
        result["server_cores_busy"] = cpu / max(wall, 1e-9)
    result["load_avg_1m"] = load_1m
    return result


def parse_rates(raw: str, base: float | None) -> list[float]:
    """``50,100`` or multiples of the in-process image rate: ``0.5x,1x``."""
    rates = []
    for part in raw.split(","):
        part = part.strip()
        if part.endswith("x"):
            if base is None:
                raise SystemExit(f"rate {part!r} is relative to the baseline: drop --no-baseline")
            rates.append(round(float(part[:-1]) * base, 2))
        elif part:
            rates.append(float(part))
    return rates


def plans(
    args: argparse.Namespace, payloads: dict[str, Any], token: str, image_base: float | None
) -> list[tuple[str, dict[str, Any]]]:
    """(kind, Spec fields but the port) for every step of one worker count, in order."""
    auth = {"Authorization": f"Bearer {token}"}
    common = {
        "duration_s": args.duration,
        "max_connections": args.max_connections,
        "timeout_s": args.timeout,
    }
    text = {
        "path": "/v1/screen/text",
        "bodies": payloads["text"],
        "headers": {**auth, "Content-Type": "application/json"},
        **common,
    }
    image = {
        "path": "/v1/screen/image?kind=generated_image",
        "bodies": payloads["image"],
        "headers": {**auth, "Content-Type": "image/jpeg"},
        **common,
    }
    out = [("text", {**text, "rate": rate}) for rate in args.text_rates]
    if args.image_rates:
        out += [("image", {**image, "rate": r}) for r in parse_rates(args.image_rates, image_base)]
        if args.saturation > 0:
            out.append(("image", {**image, "mode": "closed", "concurrency": args.saturation}))
    return out


def run_service(
    args: argparse.Namespace, home: Path, payloads: dict[str, Any], image_base: float | None
) -> list[dict[str, Any]]:
    """Every step for every worker count; a server that dies is recorded and restarted."""
    # A fresh tenant per run: a --database-url database may already hold earlier runs.
    tenant = f"{TENANT}-{uuid.uuid4().hex[:8]}"
    env = service_env(home, args.database_url, tenant)
    loadgen.cli_json(env, "tenants", "create", tenant)
    made = loadgen.cli_json(env, "keys", "create", "--tenant", tenant, "--scope", "screen")
    runs: list[dict[str, Any]] = []
    for workers in args.workers:
        service = loadgen.Service(env, workers=workers, patches=args.patch)
        started = time.monotonic()
        try:
            service.start(ready_timeout_s=args.ready_timeout)
            saturated: set[str] = set()
            for kind, fields in plans(args, payloads, made["token"], image_base):
                spec = loadgen.Spec(host=service.host, port=service.port, **fields)
                row: dict[str, Any] = {
                    "workers": workers,
                    "kind": kind,
                    "launcher": service.launcher,
                }
                if kind in saturated and spec.mode == "open":
                    row["skipped"] = "a lower rate already fell below half its offered rate"
                    runs.append(row | {"offered_rps": spec.rate})
                    continue
                pids = set(service.pids())
                result = step(service, spec, home, args.warmup)
                code = service.proc.poll() if service.proc is not None else None
                crashed = code is not None
                gone = pids - set(service.pids())
                if crashed or gone:
                    result["server_crash"] = (
                        f"server exit code {code}; {len(gone)} process(es) died; "
                        f"log tail: {service.log(400)!r}"
                    )
                runs.append(row | result)
                print(_line(runs[-1]), file=sys.stderr, flush=True)
                if crashed:  # the next step needs a server
                    service.stop()
                    service.start(ready_timeout_s=args.ready_timeout)
                if spec.mode == "open" and result["achieved_rps"] < 0.5 * spec.rate:
                    saturated.add(kind)
        finally:
            service.stop()
        print(f"workers={workers}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return runs


# -- report -------------------------------------------------------------------------------------


def _f(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def _line(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    offered = _f(r["offered_rps"], ".0f") if r["mode"] == "open" else f"closed c={r['concurrency']}"
    return (
        f"| {r['workers']} | {r['kind']} | {offered} | {r['achieved_rps']:.1f} | {r['ok']} "
        f"| {r['errors']} | {_f(lat['p50'])} | {_f(lat['p90'])} | {_f(lat['p99'])} "
        f"| {_f(lat['max'])} | {_f(r['server_cpu_ms_per_req'])} "
        f"| {100 * r['client_cpu_s'] / r['duration_s']:.0f} % "
        f"| {_f(r['send_lag_ms']['p99'])} | {r['load_avg_1m']:.2f} |"
        + (" **server crashed** |" if r.get("server_crash") else "")
    )


HEADER = (
    "| workers | kind | offered req/s | achieved req/s | ok | errors | p50 ms | p90 ms | p99 ms "
    "| max ms | server CPU ms/req | client CPU | send lag p99 ms | load 1m |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def verdicts(runs: list[dict[str, Any]], base: dict[str, Any] | None) -> dict[str, Any]:
    """Per worker count: text p99 at the target rate, the best rate meeting the p99, and
    image saturation throughput against the in-process ``image_risk`` rate."""
    out: dict[str, Any] = {}
    for workers in sorted({r["workers"] for r in runs}):
        ran = [r for r in runs if r["workers"] == workers and "skipped" not in r]
        mine = [r for r in ran if not r.get("server_crash")]
        text = [r for r in mine if r["kind"] == "text"]
        meets = [
            r["offered_rps"]
            for r in text
            if r["errors"] == 0 and (r["latency_ms"]["p99"] or 1e9) <= TARGET_P99_MS
        ]
        at_target = [r for r in text if r["offered_rps"] == TARGET_RATE]
        p99 = at_target[0]["latency_ms"]["p99"] if at_target else None
        entry: dict[str, Any] = {
            "text_p99_ms_at_200": p99,
            "text_pass": None
            if not at_target
            else bool(at_target[0]["errors"] == 0 and p99 is not None and p99 <= TARGET_P99_MS),
            "text_best_rate_meeting_p99": max(meets) if meets else None,
        }
        entry["server_crashes"] = {
            k: sum(1 for r in ran if r["kind"] == k and r.get("server_crash"))
            for k in ("text", "image")
        }
        images = [r for r in mine if r["kind"] == "image"]
        if images:
            best = max(r["achieved_rps"] for r in images)
            entry["image_best_rps"] = best
            if base is not None:
                ratio = best / base["image_risk_all_cores"]["images_per_s"]
                entry["image_ratio_to_in_process"] = ratio
                entry["image_ratio_to_one_process"] = best / base["image_risk"]["images_per_s"]
                entry["image_pass"] = bool(
                    ratio >= TARGET_IMAGE_RATIO and not entry["server_crashes"]["image"]
                )
        out[str(workers)] = entry
    return out


def report(result: dict[str, Any]) -> str:
    cfg, lines = result["config"], []
    lines.append(
        f"childsafe serve load test: {cfg['cpus']} CPUs, Python {cfg['python']}, "
        f"{cfg['launcher']}, {cfg['database']}; load average 1m before "
        f"{result['load_average']['before'][0]:.2f}, after "
        f"{result['load_average']['after'][0]:.2f}"
    )
    base = result.get("baseline")
    if base:
        t, i, s = base["text_screen"], base["image_risk"], base["image_screen"]
        lines += [
            "",
            "In-process baselines (one process, one request at a time):",
            f"  Screener.screen prompt (SQLite log): p50 {t['p50_ms']:.2f} ms, "
            f"p99 {t['p99_ms']:.2f} ms (n={t['n']})",
            f"  image_risk.classify, 512 px JPEG: {i['images_per_s']:.1f} images/s "
            f"(p50 {i['p50_ms']:.1f} ms)",
            f"  Screener.screen generated_image: {s['images_per_s']:.1f} images/s "
            f"(p50 {s['p50_ms']:.1f} ms)",
            f"  image_risk.classify in {base['image_risk_all_cores']['processes']} processes "
            f"at once (all cores): {base['image_risk_all_cores']['images_per_s']:.1f} images/s",
        ]
    if result.get("profile"):
        lines += ["", "Text request stages in process (median ms):"]
        lines += [f"  {name}: {ms:.3f}" for name, ms in result["profile"].items()]
    lines += ["", HEADER]
    for r in result["runs"]:
        if "skipped" in r:
            lines.append(
                f"| {r['workers']} | {r['kind']} | {r['offered_rps']:.0f} | skipped: "
                f"{r['skipped']} |"
            )
        else:
            lines.append(_line(r))
    lines += [
        "",
        f"Targets: text p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_RATE:.0f} req/s; "
        f"image throughput >= {TARGET_IMAGE_RATIO:.0%} of in-process image_risk on all cores",
    ]
    for workers, v in result["verdicts"].items():
        text = (
            "not run"
            if v["text_pass"] is None
            else f"p99 {_f(v['text_p99_ms_at_200'])} ms -> {'PASS' if v['text_pass'] else 'MISS'}"
        )
        best = v["text_best_rate_meeting_p99"]
        line = (
            f"  workers={workers}: text at 200 req/s: {text}; best tested rate meeting "
            f"the p99: {_f(best, '.0f')} req/s"
        )
        crashes = sum(v["server_crashes"].values())
        if crashes:
            line += f"; SERVER CRASHED in {crashes} step(s) (excluded from the figures)"
        if "image_ratio_to_in_process" in v:
            line += (
                f"; images {v['image_best_rps']:.1f}/s = "
                f"{v['image_ratio_to_in_process']:.0%} of in-process on all cores "
                f"({v['image_ratio_to_one_process']:.0%} of one process) -> "
                f"{'PASS' if v['image_pass'] else 'MISS'}"
            )
        lines.append(line)
    return "\n".join(lines)


# -- entry point --------------------------------------------------------------------------------


QUICK = {
    "workers": "1",
    "text_rates": "20,40",
    "image_rates": "2",
    "saturation": 2,
    "duration": 1.5,
    "warmup": 0.5,
    "timeout": 5.0,
    "baseline_n": 30,
    "prompts": 200,
    "image_rounds": 1,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2", help="uvicorn worker counts to try (comma list)")
    p.add_argument("--text-rates", default="50,100,200,300", help="req/s, comma list")
    p.add_argument(
        "--image-rates",
        default="0.5x,0.8x,1x",
        help="req/s, or multiples of the in-process all-core image_risk rate ('1x'); "
        "empty to skip images",
    )
    p.add_argument(
        "--saturation",
        type=int,
        default=4,
        help="closed-loop image concurrency for the saturation step (0: none)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured step")
    p.add_argument("--warmup", type=float, default=2.0, help="untimed seconds before each step")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    p.add_argument("--max-connections", type=int, default=256)
    p.add_argument("--prompts", type=int, default=600, help="prompts to cycle through")
    p.add_argument("--baseline-n", type=int, default=500, help="in-process prompts timed")
    p.add_argument("--image-rounds", type=int, default=10, help="in-process image rounds")
    p.add_argument("--no-baseline", action="store_true", help="skip in-process baselines")
    p.add_argument("--no-profile", action="store_true", help="skip the stage profile")
    p.add_argument(
        "--patch",
        action="append",
        default=[],
        choices=loadgen.PATCHES,
        help="measure a proposed fix (repeatable; NOT the shipped service, see loadgen.py): "
        "face-lock (lock around dlib face detection), nodelay (TCP_NODELAY with --workers)",
    )
    p.add_argument("--database-url", help="service database (default: SQLite in a temp home)")
    p.add_argument("--ready-timeout", type=float, default=180.0)
    p.add_argument("--json", type=Path, help="write the full result here")
    p.add_argument("--quick", action="store_true", help="a few seconds per part: smoke run")
    args = p.parse_args(argv)
    if args.quick:  # smaller defaults; options given explicitly still win
        p.set_defaults(**QUICK)
        args = p.parse_args(argv)
    args.workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    args.text_rates = parse_rates(args.text_rates, None)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    before = os.getloadavg()
    prompts = loadgen.text_prompts(args.prompts)
    images = loadgen.image_jpegs(512)
    payloads = {
        "text": [json.dumps({"kind": "prompt", "text": t}).encode() for t in prompts],
        "image": images,
    }
    with tempfile.TemporaryDirectory(prefix="childsafe-load-") as tmp:
        home = Path(tmp)
        base = None
        if not args.no_baseline:
            base = baselines(prompts, images, args.baseline_n, args.image_rounds, home)
            procs = os.cpu_count() or 1
            base["image_risk_all_cores"] = parallel_image_rate(images, args.image_rounds, procs)
        profile = None if args.no_profile else stage_profile(prompts, args.baseline_n, home)
        image_base = base["image_risk_all_cores"]["images_per_s"] if base else None
        (home / "service").mkdir()
        runs = run_service(args, home / "service", payloads, image_base)
    result: dict[str, Any] = {
        "config": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "launcher": runs[0]["launcher"] if runs else None,
            "database": "PostgreSQL" if args.database_url else "SQLite (temp CHILDSAFE_HOME)",
            "workers": args.workers,
            "text_rates": args.text_rates,
            "image_rates": args.image_rates,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "timeout_s": args.timeout,
            "prompts": len(prompts),
            "risky_prompts": sum(p.startswith("nsfw") for p in prompts),
            "distinct_prompts": len(set(prompts)),
            "images": len(images),
            "image_bytes_mean": sum(map(len, images)) / len(images),
            "quick": args.quick,
            "patches": sorted(set(args.patch)),
        },
        "load_average": {"before": list(before), "after": list(os.getloadavg())},
        "baseline": base,
        "profile": profile,
        "runs": runs,
    }
    result["verdicts"] = verdicts(runs, base)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
