"""``RayExecutor`` on a local Ray instance: every shard once, streamed, bounded, loud on failure.

Ray costs seconds to start, so one module-scoped instance (2 CPUs, no dashboard, nothing
but 127.0.0.1) serves every test; the executors under test borrow it, which is itself one of
the behaviours tested. The task is a small picklable class that writes a file per shard and
leaves a marker when it starts, so the tests can see from outside the workers what ran, how
often and how far ahead of the consumer the driver got.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from childsafe.banks.importer import import_file
from childsafe.errors import ConfigError
from childsafe.executors.base import Executor, ShardDone
from childsafe.executors.local import LocalExecutor
from childsafe.hashing.api import hash_file
from childsafe.readers.base import Shard
from childsafe.scan.config import ScanConfig
from childsafe.scan.run import run_scan
from childsafe.storage import open_store

ray = pytest.importorskip("ray")

from childsafe.executors.ray import (  # noqa: E402
    INSTALL_HINT,
    RayExecutor,
    ShardFailed,
    WorkerCrashed,
)

# pytest's importlib mode gives this module a name workers cannot import: ship it by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    if started:
        ray.shutdown()


class FileTask:
    """Writes ``<out>/<shard_id>.txt``; marks its start; raises on ``fail_on``.

    ``calls`` counts the shards this *instance* has run: the executor ships the task once per
    worker process, so a worker's count goes past 1 and lazily loaded state would be reused.
    """

    def __init__(
        self,
        out: Path,
        *,
        sleep: float = 0.0,
        fail_on: str | None = None,
        crash_on: str | None = None,
    ) -> None:
        self.out = out
        self.sleep = sleep
        self.fail_on = fail_on
        self.crash_on = crash_on
        self.calls = 0

    def __call__(self, shard: Shard) -> ShardDone:
        t0 = time.perf_counter()
        (self.out / "started" / shard.shard_id).touch()
        self.calls += 1
        if shard.shard_id == self.fail_on:
            raise ValueError(f"cannot read {shard.path}")
        if shard.shard_id == self.crash_on:
            os._exit(3)  # the worker process dies, as under the OOM killer
        time.sleep(self.sleep)
        part = self.out / f"{shard.shard_id}.txt"
        part.write_text(f"{shard.path} {os.getpid()}\n")
        return ShardDone(
            shard_id=shard.shard_id,
            rows=1,
            seconds=time.perf_counter() - t0,
            counters={"pid": os.getpid(), "calls": self.calls},
        )


class LazyShards(Sequence[Shard]):
    """A shard list that counts how many shards the executor has pulled so far."""

    def __init__(self, n: int) -> None:
        self.shards = [
            Shard(reader="test", source="src", shard_id=f"s-{i:04d}", path=f"/data/{i}.tar")
            for i in range(n)
        ]
        self.pulled = 0

    def __len__(self) -> int:
        return len(self.shards)

    @overload
    def __getitem__(self, i: int) -> Shard: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Shard]: ...
    def __getitem__(self, i: int | slice) -> Shard | Sequence[Shard]:
        return self.shards[i]

    def __iter__(self) -> Iterator[Shard]:
        for shard in self.shards:
            self.pulled += 1
            yield shard


def _task(tmp_path: Path, **kwargs: object) -> FileTask:
    (tmp_path / "started").mkdir()
    return FileTask(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_every_shard_runs_once_and_writes_its_file(tmp_path: Path) -> None:
    shards = LazyShards(40)
    executor = RayExecutor(workers=2)
    done = list(executor.map(_task(tmp_path), shards))

    ids = sorted(d.shard_id for d in done)
    assert ids == [s.shard_id for s in shards.shards]  # each once, none missing
    assert sorted(p.stem for p in tmp_path.glob("*.txt")) == ids
    assert sorted(p.name for p in (tmp_path / "started").iterdir()) == ids
    assert all(d.rows == 1 and d.seconds >= 0 for d in done)
    # the task was deserialised once per worker process, not once per shard
    per_worker: dict[int, int] = {}
    for d in done:
        pid = d.counters["pid"]
        per_worker[pid] = max(per_worker.get(pid, 0), d.counters["calls"])
    assert sum(per_worker.values()) == len(done)
    assert max(per_worker.values()) > 1


def test_completions_stream_with_a_bounded_window(tmp_path: Path) -> None:
    shards = LazyShards(16)
    executor = RayExecutor(workers=2, max_in_flight=3)
    assert executor.max_in_flight == 3
    started = tmp_path / "started"
    seen = 0
    for k, _ in enumerate(executor.map(_task(tmp_path, sleep=0.05), shards), start=1):
        if k == 1:
            assert shards.pulled < len(shards)  # the first result came before the last submit
        # the driver refills one slot per completion: never more than the window ahead
        assert shards.pulled <= k + 3
        assert len(list(started.iterdir())) <= k + 3
        time.sleep(0.02)  # a slow consumer must not let submissions run ahead
        seen = k
    assert seen == len(shards) == shards.pulled


def test_default_window_is_twice_the_workers() -> None:
    assert RayExecutor(workers=2).max_in_flight == 4
    assert RayExecutor().workers == 2  # from the borrowed instance's CPUs


def test_a_failing_shard_is_fatal_and_named(tmp_path: Path) -> None:
    executor = RayExecutor(workers=2)
    task = _task(tmp_path, fail_on="s-0005")
    with pytest.raises(ShardFailed, match=r"shard s-0005 failed: ValueError: cannot read") as info:
        for _ in executor.map(task, LazyShards(30)):
            pass
    assert info.value.shard_id == "s-0005"
    assert "/data/5.tar" in str(info.value)
    assert info.value.__cause__ is not None  # the worker's traceback is chained
    assert not (tmp_path / "s-0005.txt").exists()
    # the executor is still usable: a resumed scan would go on with the same one
    ok = tmp_path / "again"
    ok.mkdir()
    assert len(list(executor.map(_task(ok), LazyShards(3)))) == 3


def test_a_dead_worker_is_named_after_its_shard(tmp_path: Path) -> None:
    executor = RayExecutor(workers=2, max_retries=0)  # the default retries crashes 3 times
    with pytest.raises(WorkerCrashed, match=r"shard s-0002 .*--resume"):
        list(executor.map(_task(tmp_path, crash_on="s-0002"), LazyShards(4)))


def test_an_existing_ray_instance_is_reused_and_left_running(tmp_path: Path) -> None:
    assert ray.is_initialized()
    executor = RayExecutor(workers=2)
    assert len(list(executor.map(_task(tmp_path), LazyShards(2)))) == 2
    executor.close()
    assert ray.is_initialized()  # borrowed, so not shut down


def test_missing_ray_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes ``import ray`` fail
    with pytest.raises(ConfigError, match=r"pip install 'childsafe\[ray\]'"):
        RayExecutor()
    assert "childsafe[ray]" in INSTALL_HINT


def test_importing_childsafe_does_not_import_ray() -> None:
    code = "import sys, childsafe, childsafe.executors.ray; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_bad_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="workers"):
        RayExecutor(workers=0)
    with pytest.raises(ConfigError, match="max_in_flight"):
        RayExecutor(max_in_flight=0)


# --- the scan workflow: the same results.parquet from either executor ----------------------


def _jpeg(rng: np.random.Generator, size: tuple[int, int]) -> bytes:
    """A small benign procedural JPEG: a gradient with a few random blocks."""
    w, h = size
    img = np.repeat(np.linspace(0, 255, w, dtype=np.uint8)[None, :, None], h, axis=0)
    img = np.repeat(img, 3, axis=2)
    for _ in range(6):
        x, y = int(rng.integers(0, w - 16)), int(rng.integers(0, h - 16))
        img[y : y + 16, x : x + 16] = rng.integers(0, 256, 3, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path, Path]:
    """Three WebDataset tars and a folder (one file corrupt), plus a bank matching two images."""
    root = tmp_path_factory.mktemp("scan")
    rng = np.random.default_rng(7)
    images = [_jpeg(rng, (96 + 8 * i, 80 + 4 * i)) for i in range(16)]
    wds = root / "wds"
    wds.mkdir()
    for t in range(3):
        with tarfile.open(wds / f"part-{t}.tar", "w") as tar:
            for i in range(t * 4, t * 4 + 4):
                _add(tar, f"{i:04d}.jpg", images[i])
                _add(tar, f"{i:04d}.txt", b"a drawing of squares")
                meta = {"url": f"https://example.org/img/{i}.jpg", "license": "CC0-1.0"}
                _add(tar, f"{i:04d}.json", json.dumps(meta).encode())
    folder = root / "folder"
    folder.mkdir()
    for i in range(12, 16):
        (folder / f"img-{i}.jpg").write_bytes(images[i])
    (folder / "broken.jpg").write_bytes(images[0][:200])  # truncated: an error row
    bank = root / "bank.csv"
    pdq = hash_file(folder / "img-13.jpg", ("pdq",)).hashes["pdq"].value
    md5 = hashlib.md5(images[5]).hexdigest()
    bank.write_text(f"hash_type,hash,label\nmd5,{md5},demo\npdq,{pdq},demo\n")
    return [str(wds / "part-{0..2}.tar"), str(folder)], bank, root


def _scan(sources: list[str], bank: Path, out: Path, executor: Executor) -> pa.Table:
    store = open_store(f"sqlite:///{out.parent / (out.name + '.db')}")
    try:
        import_file(store, "demo", bank)
        run_scan(ScanConfig(sources=sources, out=out), store, executor=executor)
    finally:
        store.close()
    return pq.read_table(out / "results.parquet")


def test_local_and_ray_scans_write_identical_results(
    dataset: tuple[list[str], Path, Path],
) -> None:
    sources, bank, root = dataset
    local = _scan(sources, bank, root / "out-local", LocalExecutor(1))
    remote = _scan(sources, bank, root / "out-ray", RayExecutor(workers=2))

    assert local.num_rows == 12 + 5  # every item, the broken one included, once
    assert remote.schema == local.schema
    # the same rows in the same order with the same values (the schema has no timing column)
    assert remote.equals(local), _first_difference(local, remote)
    decisions = local.column("decision").to_pylist()
    assert decisions.count("error") == 1
    assert decisions.count("allow") == 14  # two matched: md5 of image 5, pdq of image 13


def _first_difference(a: pa.Table, b: pa.Table) -> str:
    for name in a.column_names:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        for i, (u, v) in enumerate(zip(x, y, strict=False)):
            if u != v:
                return f"column {name}, row {i}: {u!r} != {v!r}"
    return "no difference found column by column"
