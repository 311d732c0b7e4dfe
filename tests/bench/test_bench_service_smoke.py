"""Smoke tests for bench/bench_service_load.py and its open-loop generator bench/loadgen.py.

The smoke run starts the real service and checks that the bench prints its tables and writes
JSON of the documented shape, not the figures (those need minutes on a quiet machine; see
docs/service-load.md). The generator tests pin the one property the load test rests on:
latency is measured from when a request was *due*, so a slow server shows up as queueing
instead of silently slowing the client down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module(name)


class SlowServer:
    """A keep-alive HTTP/1.1 server answering one request at a time, ``delay`` s each."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = asyncio.Lock()
        self.served = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                async with self.lock:
                    await asyncio.sleep(self.delay)
                    self.served += 1
                body = b'{"decision":"allow"}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _against(server: SlowServer, lg: ModuleType, **spec: object) -> dict[str, object]:
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        fields = {
            "host": "127.0.0.1",
            "port": port,
            "path": "/",
            "headers": {},
            "bodies": [b"{}"],
            **spec,
        }
        result: dict[str, object] = await lg.run_spec(lg.Spec(**fields))
        return result
    finally:
        srv.close()
        await srv.wait_closed()


def test_open_loop_counts_queueing_from_the_due_time(monkeypatch: pytest.MonkeyPatch) -> None:
    lg = _bench("loadgen", monkeypatch)
    server = SlowServer(delay=0.05)  # capacity 20 req/s, offered 40: the queue grows
    r = asyncio.run(_against(server, lg, rate=40.0, duration_s=1.0, timeout_s=10.0))
    assert r["ok"] == r["sent"] == 40 == server.served
    lat = r["latency_ms"]
    assert isinstance(lat, dict)
    # The last request was due at ~0.975 s and served at ~2.0 s: about a second of queueing.
    # A closed-loop client would have reported ~50 ms for every request.
    assert lat["max"] > 800
    assert lat["p50"] > 200
    assert 15 < r["achieved_rps"] < 25  # (float) what the server managed, not what was offered
    assert r["decisions"] == {"allow": 40}


def test_open_loop_keeps_the_schedule_when_the_server_keeps_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lg = _bench("loadgen", monkeypatch)
    r = asyncio.run(_against(SlowServer(delay=0.0), lg, rate=50.0, duration_s=1.0))
    assert r["ok"] == 50 and r["errors"] == 0
    assert 45 <= r["achieved_rps"] <= 52
    lat = r["latency_ms"]
    assert isinstance(lat, dict) and lat["p50"] < 50


def test_closed_loop_and_dead_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    lg = _bench("loadgen", monkeypatch)
    r = asyncio.run(
        _against(SlowServer(delay=0.02), lg, mode="closed", concurrency=2, duration_s=0.5)
    )
    assert r["offered_rps"] is None and r["concurrency"] == 2
    assert 10 <= r["ok"] <= 30 and r["errors"] == 0  # ~25: one at a time, 20 ms each

    port = lg.free_port()  # nothing listens: every request is a counted error, none dropped
    spec = lg.Spec(
        host="127.0.0.1", port=port, path="/", headers={}, bodies=[b"x"], rate=20.0, duration_s=0.5
    )
    dead = asyncio.run(lg.run_spec(spec))
    assert dead["ok"] == 0 and dead["sent"] == dead["errors"] == 10
    assert dead["transport_errors"] == {"ConnectionRefusedError": 10}


def test_prompts_mix_benign_and_the_mildest_risky_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lg = _bench("loadgen", monkeypatch)
    prompts = lg.text_prompts(200, risky_share=0.1)
    assert len(prompts) == 200 and prompts == lg.text_prompts(200, risky_share=0.1)
    risky = [p for p in prompts if p.startswith("nsfw ")]
    assert len(risky) == 20
    assert all(p == lg.RISKY_TEMPLATE.format(noun=p.split()[1], age=p.split()[-3]) for p in risky)
    assert len(set(prompts) - set(risky)) == 180  # benign prompts do not repeat


def test_service_load_quick_smoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench("bench_service_load", monkeypatch)
    out = tmp_path / "load.json"
    # One image at a time (no saturation step): the smoke run checks the shape, not the
    # concurrency of the image models.
    assert bench.main(["--quick", "--saturation", "0", "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    assert bench.HEADER.splitlines()[0] in printed
    assert "In-process baselines" in printed and "Text request stages" in printed
    assert "Targets: text p99 <= 25 ms at 200 req/s" in printed

    report = json.loads(out.read_text())
    assert set(report) == {"config", "load_average", "baseline", "profile", "runs", "verdicts"}
    assert report["config"]["quick"] is True and report["config"]["workers"] == [1]
    assert set(report["baseline"]) == {
        "text_screen",
        "image_risk",
        "image_screen",
        "image_risk_all_cores",
    }
    assert report["baseline"]["image_risk_all_cores"]["images"] > 0
    assert report["baseline"]["image_risk"]["images_per_s"] > 0
    assert any(k.startswith("model: text_risk") for k in report["profile"])
    runs = report["runs"]
    assert [(r["kind"], r["offered_rps"]) for r in runs] == [
        ("text", 20.0),
        ("text", 40.0),
        ("image", 2.0),
    ]
    for r in runs:
        assert r["workers"] == 1 and "server_crash" not in r, r
        assert r["ok"] + r["errors"] == r["sent"] > 0
        assert set(r["latency_ms"]) == {"p50", "p90", "p99", "max", "mean"}
        assert r["server_cpu_ms_per_req"] > 0
        assert f"| 1 | {r['kind']} | {r['offered_rps']:.0f} |" in printed
    text = [r for r in runs if r["kind"] == "text"]
    assert all(r["decisions"].get("block", 0) > 0 for r in text)  # the risky prompts
    verdict = report["verdicts"]["1"]
    assert verdict["text_pass"] is None  # 200 req/s is not a quick-run rate
    assert {"text_best_rate_meeting_p99", "image_ratio_to_in_process", "server_crashes"} <= set(
        verdict
    )
