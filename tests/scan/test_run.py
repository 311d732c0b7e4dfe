"""The scan workflow: one row per item, resume, config refusal, executor independence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.scan.conftest import PLANTED
from tests.scan.scanfix import make_folder, make_tar

from childsafe.banks.base import BankStore
from childsafe.errors import ConfigError, SourceError
from childsafe.executors.local import LocalExecutor
from childsafe.scan.config import ScanConfig
from childsafe.scan.run import plan, run_scan
from childsafe.scan.task import part_path


@pytest.fixture
def dataset(tmp_path: Path) -> list[str]:
    folder = tmp_path / "photos"
    make_folder(folder, range(10), broken=True)
    tar = tmp_path / "shard-000.tar"
    make_tar(tar, [20, 21, 7])
    return [str(folder), str(tar)]


def config(sources: list[str], out: Path, **kw: object) -> ScanConfig:
    return ScanConfig(sources=sources, out=out, shard_options={"shard_size": 4}, **kw)  # type: ignore[arg-type]


def results(out: Path) -> list[dict[str, object]]:
    return pq.read_table(out / "results.parquet").to_pylist()  # type: ignore[no-any-return]


def test_every_item_is_one_row_and_planted_items_block(
    dataset: list[str], tmp_path: Path, bank_store: BankStore
) -> None:
    out = tmp_path / "out"
    summary = run_scan(config(dataset, out), bank_store, executor=LocalExecutor(1))
    rows = results(out)
    assert len(rows) == 11 + 3 == summary.items
    assert len({r["item_id"] for r in rows}) == len(rows)
    blocked = {Path(str(r["item_id"])).stem for r in rows if r["decision"] == "block"}
    assert blocked == {f"img_{s:04d}" for s in PLANTED if s < 10} | {"000007"}
    [broken] = [r for r in rows if "broken" in str(r["item_id"])]
    assert broken["decision"] == "error" and broken["error"].startswith("hash: ")  # type: ignore[union-attr]
    assert summary.quarantined == 3


def test_resume_after_crash_equals_clean_run(
    dataset: list[str], tmp_path: Path, bank_store: BankStore
) -> None:
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    run_scan(config(dataset, clean), bank_store, executor=LocalExecutor(1))
    run_scan(config(dataset, crashed), bank_store, executor=LocalExecutor(1))
    # Simulate a crash: lose some parts and the outputs, leave a worker's temp file behind.
    _, shards = plan(config(dataset, crashed))
    for shard in shards[::2]:
        part_path(crashed / "parts", shard.shard_id).unlink()
    (crashed / "parts" / f".{shards[0].shard_id}.parquet.123.tmp").write_bytes(b"half")
    (crashed / "results.parquet").unlink()
    with pytest.raises(ConfigError, match="--resume"):
        run_scan(config(dataset, crashed), bank_store, executor=LocalExecutor(1))
    seen: list[int] = []
    run_scan(
        config(dataset, crashed, resume=True),
        bank_store,
        executor=LocalExecutor(1),
        progress=lambda p: seen.append(p.shards_done),
    )
    assert results(crashed) == results(clean)
    assert seen[0] == len(shards) - len(shards[::2]) and seen[-1] == len(shards)
    assert not list((crashed / "parts").glob(".*"))


def test_resume_with_other_config_is_refused(
    dataset: list[str], tmp_path: Path, bank_store: BankStore
) -> None:
    out = tmp_path / "out"
    run_scan(config(dataset, out), bank_store, executor=LocalExecutor(1))
    other = config(dataset, out, resume=True, hash_types=("md5",))
    with pytest.raises(ConfigError, match=r"different configuration.*hash_types"):
        run_scan(other, bank_store, executor=LocalExecutor(1))


def test_workers_do_not_change_results(
    dataset: list[str], tmp_path: Path, bank_store: BankStore
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    run_scan(config(dataset, one), bank_store, executor=LocalExecutor(1))
    summary = run_scan(config(dataset, two, workers=2), bank_store)
    assert results(one) == results(two)
    assert summary.items == 14


def test_unreadable_source_is_fatal_and_named(tmp_path: Path, bank_store: BankStore) -> None:
    with pytest.raises(SourceError, match="nope"):
        run_scan(config([str(tmp_path / "nope")], tmp_path / "out"), bank_store)


def test_worker_warm_up_runs_in_a_fresh_process() -> None:
    """``warm_up`` (run in each started worker) must work with nothing else loaded."""
    import subprocess
    import sys

    code = "from childsafe.scan.task import warm_up; warm_up(True); warm_up(False); print('ok')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_failed_shard_leaves_no_outputs_and_resume_completes(
    dataset: list[str], tmp_path: Path, bank_store: BankStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge runs beside the shards: a failure must still leave nothing that looks done."""
    from childsafe.errors import ShardFailed
    from childsafe.scan.task import ScanTask

    clean, failed = tmp_path / "clean", tmp_path / "failed"
    run_scan(config(dataset, clean), bank_store, executor=LocalExecutor(1))
    _, shards = plan(config(dataset, failed))
    call = ScanTask.__call__

    def flaky(self: ScanTask, shard: Any) -> Any:
        if shard.shard_id == shards[2].shard_id:
            raise RuntimeError("disk full")
        return call(self, shard)

    with monkeypatch.context() as m:
        m.setattr(ScanTask, "__call__", flaky)
        with pytest.raises(ShardFailed, match="disk full"):
            run_scan(config(dataset, failed), bank_store, executor=LocalExecutor(1))
    left = sorted(p.name for p in failed.iterdir())
    assert left == [".snapshot", "parts", "scan.json"]  # no outputs, no .partial files
    assert len(list((failed / "parts").iterdir())) == 2  # the shards before the failure
    run_scan(config(dataset, failed, resume=True), bank_store, executor=LocalExecutor(1))
    assert results(failed) == results(clean)
