"""Memory stays flat as shards grow: parts are streamed, never all held at once."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.scan.test_outputs import context, row

from childsafe.scan import outputs
from childsafe.scan.outputs import write_outputs
from childsafe.scan.schema import RESULTS

ROWS_PER_PART = 5
PAD = 4000  # bytes of provenance per row, so that holding all rows would show


def _parts(parts_dir: Path, count: int) -> list[Path]:
    parts_dir.mkdir(parents=True, exist_ok=True)
    rows = [row(f"i{i}") for i in range(ROWS_PER_PART)]
    base = pa.Table.from_pylist(rows, schema=RESULTS)
    decision = RESULTS.get_field_index("decision")
    paths = []
    for p in range(count):
        ids = [f"p{p:05d}-{i}" for i in range(ROWS_PER_PART)]
        urls = [f"{p}-{i}-" + "u" * PAD for i in range(ROWS_PER_PART)]
        table = base.set_column(0, "item_id", pa.array(ids))
        if p % 100 == 0:  # a few quarantined rows, as in a real scan
            table = table.set_column(decision, "decision", pa.array(["block"] * ROWS_PER_PART))
        table = table.set_column(RESULTS.get_field_index("url"), "url", pa.array(urls))
        path = parts_dir / f"p{p:05d}.parquet"
        pq.write_table(
            table, path, compression="none", use_dictionary=False, write_statistics=False
        )
        paths.append(path)
    return paths


def _peaks(tmp_path: Path, parts: list[Path], name: str) -> tuple[int, int]:
    pool = pa.proxy_memory_pool(pa.system_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        summary = write_outputs(tmp_path / name, parts, context())
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    assert summary.items == len(parts) * ROWS_PER_PART
    return python_peak, pool.max_memory()


def test_peak_memory_does_not_grow_with_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 500)  # many row groups, as at scale
    parts = _parts(tmp_path / "parts", 2000)
    data = sum(p.stat().st_size for p in parts)
    python_peak, arrow_peak = _peaks(tmp_path, parts, "out")
    assert data > 40_000_000
    # Holding every part would take the 40 MB of rows in one allocator or the other; what
    # grows is one small record per shard for summary.json (about 2 kB each).
    assert arrow_peak < 10_000_000, arrow_peak
    assert python_peak < 10_000_000, python_peak
    results = pq.ParquetFile(tmp_path / "out" / "results.parquet").metadata
    assert results.num_rows == 2000 * ROWS_PER_PART and results.num_row_groups == 20
