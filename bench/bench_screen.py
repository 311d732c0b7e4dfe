"""In-process ``Screener.screen`` latency for prompts, next to a bare ``text_risk`` call.

    python bench/bench_screen.py                      # 1,000 held-out prompts, one core
    python bench/bench_screen.py --n 300 --json out.json
    python bench/bench_screen.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The service's budget is a text p99 of 25 ms at 200 requests/s on 2 cores, and almost all of
it is spent here. So this script times, per prompt and interleaved (each prompt goes through
every system in turn, so drift from other load on the machine hits all of them alike):

* ``text_risk (baseline)``: the bare classifier call ``TextRiskClassifier.classify([item])``,
  the floor for screening a prompt with this model;
* ``screener + memory log``: ``Screener.screen`` under the built-in policy: request checks,
  SHA-256, policy lookup, the same classifier, the rule and a ``MemoryDecisionLog`` entry;
* ``screener + SQLite log``: the same with the durable ``SqlDecisionLog`` (WAL, one commit per
  entry) in a temporary file, as ``childsafe serve`` runs by default;
* ``screener + PostgreSQL log`` (with ``--postgres URL``), in a scratch schema that is dropped.

With ``--image-rounds N`` it also times generated images (scikit-image's benign photos as
JPEG): ``image_risk`` alone against ``Screener.screen``, which adds md5 + PDQ, a bank lookup
and the log entry — the service's image target is 80 % of the in-process classifier rate.

Prompts are the held-out synthetic sentences (``synth.heldout_data``, shuffled with a fixed
seed: benign, child-benign, adult-only and risky classes; short, non-explicit). BLAS is held
to one thread and the process is pinned to one CPU, so the figures are per core. Screening
overhead is the difference between a screener row and the baseline.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from childsafe.classifiers.evaluation import latency_summary
from childsafe.classifiers.text import synth
from childsafe.classifiers.text.risk import TextRiskClassifier
from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.screening.base import ContentKind, DecisionLog, ScreenRequest
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.screener import Screener

TARGET_P99_MS = 25.0


def pin_one_cpu() -> str:
    """Pin this process to one CPU (Linux); returns which, for the report."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"cpu {cpu}"


def screener_with(log: DecisionLog, settings: Settings) -> Screener:
    return Screener(decision_log=log, settings=settings)


def sql_log(url: str, schema: str | None) -> tuple[DecisionLog, Callable[[], None]]:
    from childsafe.storage import open_store

    store = open_store(url, schema=schema)
    return store.decisions, store.close


def run(n: int, warmup: int, postgres: str | None) -> dict[str, Any]:
    settings = Settings()
    texts = [s.text for s in synth.heldout_data()]
    random.Random(2025).shuffle(texts)  # the file is grouped by class; time a mix
    texts = texts[: n + warmup]
    baseline = TextRiskClassifier()
    baseline.setup()
    systems: dict[str, Callable[[int, str], str]] = {
        "text_risk (baseline)": lambda i, t: baseline.classify([Item(id=f"b{i}", text=t)])[
            0
        ].priority.name.lower(),
    }
    closers: list[Callable[[], None]] = []
    logs: dict[str, DecisionLog] = {"screener + memory log": MemoryDecisionLog()}
    tmp = tempfile.TemporaryDirectory()
    log, close = sql_log(f"sqlite:///{Path(tmp.name) / 'bench.db'}", None)
    logs["screener + SQLite log"], _ = log, closers.append(close)
    schema = None
    if postgres:
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        log, close = sql_log(postgres, schema)
        logs["screener + PostgreSQL log"], _ = log, closers.append(close)
    for name, each in logs.items():
        screener = screener_with(each, settings)
        systems[name] = (
            lambda i, t, s=screener, k=name: (
                s.screen(  # type: ignore[misc]
                    ScreenRequest(ContentKind.PROMPT, "default", text=t, request_id=f"{k[:3]}-{i}")
                ).decision
            )
        )
    times: dict[str, list[float]] = {name: [] for name in systems}
    outcomes: dict[str, Counter[str]] = {name: Counter() for name in systems}
    try:
        for i, t in enumerate(texts):
            for name, call in systems.items():
                start = time.perf_counter()
                out = call(i, t)
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    times[name].append(elapsed)
                    outcomes[name][out] += 1
    finally:
        for close in closers:
            close()
        tmp.cleanup()
        if postgres and schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return {
        name: {"latency": latency_summary(times[name]), "outcomes": dict(outcomes[name])}
        for name in systems
    }


IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "cat", "camera", "hubble_deep_field")


def run_images(rounds: int) -> dict[str, Any]:
    """``image_risk`` alone against ``Screener.screen`` of generated images (md5 + PDQ + bank
    match + ``image_risk`` + log), on scikit-image's benign photos as JPEG."""
    import io

    import skimage.data
    from PIL import Image

    from childsafe.classifiers.image.risk import ImageRiskClassifier
    from childsafe.storage import open_store

    data = []
    for name in IMAGES:
        buf = io.BytesIO()
        Image.fromarray(getattr(skimage.data, name)()).convert("RGB").save(buf, "JPEG", quality=90)
        data.append(buf.getvalue())
    baseline = ImageRiskClassifier()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            store.create_bank("known")  # empty: the cost of a bank lookup, not of a hit
            screener = Screener(banks_for=lambda t: store, decision_log=MemoryDecisionLog())
            times: dict[str, list[float]] = {"image_risk (baseline)": [], "screener": []}
            for r in range(rounds + 1):
                for i, blob in enumerate(data):
                    start = time.perf_counter()
                    baseline.classify([Item.from_bytes(blob, id=f"{r}-{i}")])
                    mid = time.perf_counter()
                    screener.screen(
                        ScreenRequest(ContentKind.GENERATED_IMAGE, "default", data=blob)
                    )
                    end = time.perf_counter()
                    if r:  # round 0 warms models and the PDQ kernel
                        times["image_risk (baseline)"].append(mid - start)
                        times["screener"].append(end - mid)
        finally:
            store.close()
    rate = {k: len(v) / sum(v) for k, v in times.items()}
    return {
        "latency": {k: latency_summary(v) for k, v in times.items()},
        "images_per_s": rate,
        "rate_ratio": rate["screener"] / rate["image_risk (baseline)"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="prompts timed per system")
    parser.add_argument("--warmup", type=int, default=50, help="untimed prompts first")
    parser.add_argument("--postgres", help="also time a PostgreSQL decision log at this URL")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--image-rounds", type=int, default=0, help="also time generated images, N rounds"
    )
    args = parser.parse_args(argv)
    pinned = pin_one_cpu()
    results = run(args.n, args.warmup, args.postgres)
    images = run_images(args.image_rounds) if args.image_rounds else None
    base = results["text_risk (baseline)"]["latency"]
    print(f"{args.n} held-out prompts per system, {pinned}, Python {sys.version.split()[0]}, "
          f"{platform.machine()}; target p99 <= {TARGET_P99_MS} ms")  # fmt: skip
    print("| system | p50 ms | p90 ms | p99 ms | max ms | p50 overhead ms | outcomes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        lat = r["latency"]
        extra = lat["p50_ms"] - base["p50_ms"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        print(f"| {name} | {lat['p50_ms']:.2f} | {lat['p90_ms']:.2f} | {lat['p99_ms']:.2f} "
              f"| {lat['max_ms']:.1f} | {extra:+.2f} | {outcomes} |")  # fmt: skip
    if images is not None:
        print(f"\nGenerated images ({len(IMAGES)} photos x {args.image_rounds} rounds, JPEG):")
        for name, lat in images["latency"].items():
            print(f"  {name}: p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
                  f"{images['images_per_s'][name]:.1f} images/s")  # fmt: skip
        print(f"  screener rate / classifier rate: {images['rate_ratio']:.2f}")
    if args.json:
        out = {"cpu": pinned, "n": args.n, "results": results, "images": images}
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
