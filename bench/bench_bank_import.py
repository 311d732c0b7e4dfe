"""Bank import throughput: 1M random PDQ lines (text, and CSV with labels) into SQLite and
PostgreSQL, end to end (parse + validate + insert), against a naive baseline.

Baseline ("naive Core executemany"): the same file parsed into ``ImportRecord`` objects,
each validated with ``canonical``, then one SQLAlchemy Core ``insert(entries)`` executemany
of dicts (per-row bind processing, file order, ``OR IGNORE``) on SQLite. It runs on fewer
lines (``--baseline-lines``) and is compared by throughput, to keep the run under 2 minutes.

    python bench/bench_bank_import.py [--lines 1000000] [--baseline-lines 200000] [--no-pg]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from childsafe.banks import get_format, import_file
from childsafe.hashing.formats import canonical
from childsafe.storage import open_store
from childsafe.storage.models import entries

PG_URL = os.environ.get(
    "CHILDSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def make_files(d: Path, n: int) -> tuple[Path, Path]:
    rnd = random.Random(1)
    vals = [f"{rnd.getrandbits(256):064x}" for _ in range(n)]
    txt, csv = d / "pdq.txt", d / "pdq.csv"
    txt.write_text("\n".join(vals) + "\n")
    csv.write_text(
        "hash,hash_type,label\n" + "".join(f"{v},pdq,set-{i % 7}\n" for i, v in enumerate(vals))
    )
    return txt, csv


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def baseline(path: Path, url: str, n: int) -> float:
    small = path.with_name("baseline.txt")
    with path.open() as f, small.open("w") as out:
        for _ in range(n):
            out.write(f.readline())
    store = open_store(url)
    store.create_bank("base")

    def run() -> None:
        with small.open("rb") as f:
            recs = list(get_format("text").parse(f, source="b", hash_type="pdq"))
        now = datetime.now(UTC)
        rows = [
            {"bank_id": 1, "hash_type": r.hash_type, "value": canonical(r.hash_type, r.value),
             "label": r.label, "source": "b", "added_at": now, "added_version": 1,
             "first_added_version": 1, "deleted": False}
            for r in recs
        ]  # fmt: skip
        with store.engine.begin() as conn:
            conn.execute(insert(entries).prefix_with("OR IGNORE"), rows)

    secs = timed(run)
    store.close()
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--baseline-lines", type=int, default=200_000)
    ap.add_argument("--no-pg", action="store_true")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="cs-bench-"))
    txt, csv = make_files(d, a.lines)
    print(f"{a.lines:,} PDQ lines; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    results: list[tuple[str, int, float]] = []
    targets = [("sqlite", f"sqlite:///{d / 'bench.db'}", None)]
    if not a.no_pg:
        targets.append(("postgres", PG_URL, f"bench_{uuid.uuid4().hex[:8]}"))
    for db, url, schema in targets:
        admin = create_engine(url) if schema else None
        if admin:
            with admin.begin() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            store = open_store(url, schema=schema)
            for label, path in (("text", txt), ("csv+labels", csv)):
                bank = f"b-{label}"
                secs = timed(lambda s=store, p=path, b=bank: import_file(s, b, p, hash_type="pdq"))
                assert store.get_bank(bank).entry_count == a.lines
                results.append((f"{db} {label}", a.lines, secs))
            store.close()
        finally:
            if admin:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    base = baseline(txt, f"sqlite:///{d / 'baseline.db'}", a.baseline_lines)
    results.append(("sqlite baseline: naive Core executemany", a.baseline_lines, base))
    print(f"{'run':<42}{'lines':>10}{'seconds':>10}{'lines/s':>12}")
    for name, n, secs in results:
        print(f"{name:<42}{n:>10,}{secs:>10.2f}{n / secs:>12,.0f}")
    ours = results[0][1] / results[0][2]
    print(f"sqlite text vs baseline throughput: {ours / (a.baseline_lines / base):.1f}x")


if __name__ == "__main__":
    main()
