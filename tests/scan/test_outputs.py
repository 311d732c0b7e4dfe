"""write_outputs: merge order, schema checks, quarantine, kept ids, removal list, summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from childsafe.classifiers.base import ModelInfo
from childsafe.errors import ScanOutputError
from childsafe.executors.base import ShardDone
from childsafe.readers.base import Shard
from childsafe.scan.outputs import OutputContext, write_outputs
from childsafe.scan.schema import QUARANTINE_COLUMNS, RESULTS


def row(item_id: str, decision: str = "allow", **extra: Any) -> dict[str, Any]:
    """One RESULTS row with sensible empties; ``extra`` overrides columns."""
    base: dict[str, Any] = {name: None for name in RESULTS.names}
    base.update(item_id=item_id, decision=decision, matches=[], scores=[], reasons=[])
    base.update(source="src", kind="image")
    if decision == "block":
        base["reasons"] = ["match:known:pdq"]
        base["matches"] = [
            {"bank": "known", "hash_type": "pdq", "value": "f" * 64, "distance": 3,
             "entry_id": 1, "label": "benign-test"}
        ]  # fmt: skip
    elif decision == "review":
        base["reasons"] = ["classifier:demo:flagged"]
    elif decision == "error":
        base["reasons"] = ["error:CorruptContent"]
        base["error"] = f"CorruptContent: {item_id}: truncated"
    base.update(extra)
    return base


def write_part(parts_dir: Path, shard_id: str, rows: Sequence[dict[str, Any]]) -> Path:
    parts_dir.mkdir(parents=True, exist_ok=True)
    path = parts_dir / f"{shard_id}.parquet"
    shard_rows = [{**r, "shard": r.get("shard") or shard_id} for r in rows]
    pq.write_table(pa.Table.from_pylist(shard_rows, schema=RESULTS), path)
    return path


def context(shards: Sequence[Shard] = (), **overrides: Any) -> OutputContext:
    fields: dict[str, Any] = {
        "sources": tuple(sorted({s.source for s in shards})) or ("src",),
        "shards": tuple(shards),
        "banks": {"known": 7},
        "hash_types": ("pdq", "sha256"),
        "models": (ModelInfo("demo", "1.0", "Apache-2.0"),),
        "policy_name": "default",
        "policy_version": "1",
        "config_fingerprint": "abc123",
        "config": {"radius": 31},
        "executor": "local",
        "workers": 2,
        "started_at": datetime(2025, 1, 1, tzinfo=UTC),
        "finished_at": datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC),
        "shard_done": tuple(ShardDone(s.shard_id, 1, 0.5, {"read": 1}) for s in shards),
    }
    fields.update(overrides)
    return OutputContext(**fields)


def mixed_parts(parts_dir: Path) -> list[Path]:
    return [
        write_part(parts_dir, "s0", [row("a0"), row("a1", "block"), row("a2", "error")]),
        write_part(parts_dir, "s1", [row("b0", "review"), row("b1"), row("b2")]),
        write_part(parts_dir, "s2", [row(f"c{i}") for i in range(6)]),
    ]


def test_results_are_the_parts_concatenated_in_the_given_order(tmp_path: Path) -> None:
    parts = mixed_parts(tmp_path / "parts")
    order = [parts[2], parts[0], parts[1]]
    summary = write_outputs(tmp_path / "out", order, context())
    ids = pq.read_table(tmp_path / "out" / "results.parquet")["item_id"].to_pylist()
    expected = [f"c{i}" for i in range(6)] + ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert ids == expected
    assert summary.items == sum(pq.read_metadata(p).num_rows for p in parts) == 12
    assert pq.read_schema(tmp_path / "out" / "results.parquet").equals(RESULTS)
    assert not list((tmp_path / "out").glob("*.partial"))


def test_a_part_with_the_wrong_schema_is_named(tmp_path: Path) -> None:
    good = write_part(tmp_path / "parts", "s0", [row("a0")])
    bad = tmp_path / "parts" / "s1.parquet"
    table = pa.Table.from_pylist([row("b0")], schema=RESULTS).drop_columns(["decision"])
    pq.write_table(table.append_column("row_text", pa.array(["x"])), bad)
    with pytest.raises(ScanOutputError, match=r"s1\.parquet.*missing column 'decision'"):
        write_outputs(tmp_path / "out", [good, bad], context())
    assert not list((tmp_path / "out").iterdir())  # no half outputs, no .partial files


def test_an_unknown_decision_is_refused(tmp_path: Path) -> None:
    part = write_part(tmp_path / "parts", "s0", [row("a0", "maybe")])
    with pytest.raises(ScanOutputError, match=r"s0\.parquet: unknown decision\(s\) maybe"):
        write_outputs(tmp_path / "out", [part], context())


def test_quarantine_holds_block_and_review_without_content(tmp_path: Path) -> None:
    write_outputs(tmp_path / "out", mixed_parts(tmp_path / "parts"), context())
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet")
    assert tuple(q.column_names) == QUARANTINE_COLUMNS
    assert q["item_id"].to_pylist() == ["a1", "b0"]
    assert q["decision"].to_pylist() == ["block", "review"]
    assert q["reasons"].to_pylist() == [["match:known:pdq"], ["classifier:demo:flagged"]]
    assert "bytes" not in q.column_names and "scores" not in q.column_names


def test_kept_ids_exclude_review_block_and_error(tmp_path: Path) -> None:
    summary = write_outputs(tmp_path / "out", mixed_parts(tmp_path / "parts"), context())
    kept = (tmp_path / "out" / "kept_ids.txt").read_text().splitlines()
    assert kept == ["a0", "b1", "b2", *[f"c{i}" for i in range(6)]]
    assert summary.kept == len(kept)
    errors = pq.read_table(tmp_path / "out" / "errors.parquet")
    assert errors["item_id"].to_pylist() == ["a2"]
    assert errors["error"].to_pylist() == ["CorruptContent: a2: truncated"]


def _removal(out: Path) -> list[str]:
    return (out / "removal_list.txt").read_text().splitlines()


def test_removal_list_mixes_removals_with_seeded_decoys_from_kept_ids(tmp_path: Path) -> None:
    rows = [row(f"k{i:03d}") for i in range(200)]
    rows += [row(f"x{i}", "block") for i in range(5)] + [row(f"r{i}", "review") for i in range(5)]
    rows += [row("e0", "error")]
    parts = [write_part(tmp_path / "parts", "s0", rows)]
    write_outputs(tmp_path / "a", parts, context(seed=1, decoy_ratio=2.0))
    write_outputs(tmp_path / "b", parts, context(seed=1, decoy_ratio=2.0))
    write_outputs(tmp_path / "c", parts, context(seed=2, decoy_ratio=2.0))
    listed = _removal(tmp_path / "a")
    removals = {f"x{i}" for i in range(5)} | {f"r{i}" for i in range(5)}
    kept = set((tmp_path / "a" / "kept_ids.txt").read_text().splitlines())
    assert listed == sorted(listed)
    assert removals <= set(listed)
    decoys = set(listed) - removals
    assert len(decoys) == 20 and decoys <= kept and "e0" not in listed
    assert _removal(tmp_path / "b") == listed
    assert _removal(tmp_path / "c") != listed
    meta = json.loads((tmp_path / "a" / "removal_list.json").read_text())
    assert meta["count"] == 30 and meta["decoy_ratio"] == 2.0
    assert "seed" not in json.dumps(meta)  # the seed would let anyone recompute the decoys


def test_decoys_are_capped_by_the_kept_ids(tmp_path: Path) -> None:
    rows = [row("k0"), row("k1")] + [row(f"x{i}", "block") for i in range(5)]
    parts = [write_part(tmp_path / "parts", "s0", rows)]
    summary = write_outputs(tmp_path / "out", parts, context())
    assert set(_removal(tmp_path / "out")) == {"k0", "k1", *[f"x{i}" for i in range(5)]}
    assert summary.removal_list_size == 7


def test_summary_counts(tmp_path: Path) -> None:
    shards = [Shard("webdataset", "src", f"s{i}", f"/data/s{i}.tar") for i in range(3)]
    summary = write_outputs(tmp_path / "out", mixed_parts(tmp_path / "parts"), context(shards))
    data = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert data == summary.data
    assert data["items"] == {
        "total": 12, "allow": 9, "review": 1, "block": 1, "error": 1,
        "quarantined": 2, "kept": 9, "duplicate_ids": 0,
    }  # fmt: skip
    assert data["reasons"]["by_prefix"] == {"classifier": 1, "error": 1, "match": 1}
    assert data["reasons"]["by_reason"]["match:known:pdq"] == 1
    assert data["banks"] == [
        {"name": "known", "version": 7, "matches": 1, "items": 1, "by_hash_type": {"pdq": 1}}
    ]
    assert data["errors"] == {"total": 1, "by_kind": {"CorruptContent": 1}}
    s0 = data["shards"][0]
    assert (s0["shard_id"], s0["rows"], s0["quarantined"], s0["error"]) == ("s0", 3, 1, 1)
    assert s0["path"] == "/data/s0.tar"
    rep = data["reproducibility"]
    assert rep["banks"] == [{"name": "known", "version": 7}]
    assert rep["models"] == [{"name": "demo", "version": "1.0", "licence": "Apache-2.0"}]
    assert rep["policy"] == {"name": "default", "version": "1"}
    assert rep["config_fingerprint"] == "abc123" and rep["config"] == {"radius": 31}
    assert rep["pyarrow"] == pa.__version__
    timing = data["timing"]
    assert timing["items_per_second"] == 1.2 and timing["items_per_worker_second"] == 8.0
    assert timing["shards"]["s1"]["seconds"] == 0.5


def test_summary_is_deterministic_apart_from_timing(tmp_path: Path) -> None:
    parts = mixed_parts(tmp_path / "parts")
    a = write_outputs(tmp_path / "a", parts, context())
    later = datetime(2026, 5, 5, tzinfo=UTC)
    b = write_outputs(
        tmp_path / "b",
        parts,
        context(executor="ray", workers=64, started_at=later, finished_at=later, shard_done=()),
    )
    assert a.deterministic == b.deterministic
    assert a.data["timing"] != b.data["timing"]


def test_duplicate_ids_are_counted_and_kept(tmp_path: Path) -> None:
    parts = [
        write_part(tmp_path / "parts", "s0", [row("dup"), row("u1")]),
        write_part(tmp_path / "parts", "s1", [row("dup"), row("dup", "block")]),
    ]
    summary = write_outputs(tmp_path / "out", parts, context())
    assert summary.duplicate_ids == 2 and summary.items == 4
    assert any("repeat" in w for w in summary.warnings)


def test_ids_with_line_breaks_never_reach_the_text_lists(tmp_path: Path) -> None:
    parts = [
        write_part(tmp_path / "parts", "s0", [row("ok"), row("bad\nk1"), row("x\ry", "block")])
    ]
    summary = write_outputs(tmp_path / "out", parts, context())
    assert (tmp_path / "out" / "kept_ids.txt").read_text() == "ok\n"
    assert "x" not in _removal(tmp_path / "out")
    assert any("line breaks" in w for w in summary.warnings)


def test_no_parts_still_gives_every_output(tmp_path: Path) -> None:
    summary = write_outputs(tmp_path / "out", [], context())
    assert summary.items == 0
    names = {p.name for p in (tmp_path / "out").iterdir()}
    expected = {"results.parquet", "quarantine.parquet", "errors.parquet", "kept_ids.txt"}
    expected |= {"removal_list.txt", "removal_list.json", "summary.json", "report.html"}
    assert expected <= names
    assert pq.read_table(tmp_path / "out" / "results.parquet").num_rows == 0
