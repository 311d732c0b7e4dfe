"""MergeFeeder: parts go to the merge in shard order, whatever order shards finish in."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from childsafe.errors import ScanOutputError
from childsafe.scan.background import MergeFeeder
from childsafe.scan.parts import ARROW_PART, PARQUET_PART, part_path


class FakeMerge:
    """Records the parts it is given; can fail on one, or block until released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.merged: list[str] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def part(self, path: Path) -> None:
        self.gate.wait(10)
        self.threads.add(threading.current_thread().name)
        if path.name == self.fail_on:
            raise ScanOutputError(f"part {path}: broken")
        self.merged.append(path.name)


def feeder(tmp_path: Path, merge: FakeMerge, ids: list[str]) -> MergeFeeder:
    for i, shard_id in enumerate(ids):  # mixed formats, as after a resume across versions
        part_path(tmp_path, shard_id, ARROW_PART if i % 2 else PARQUET_PART).touch()
    return MergeFeeder(merge, tmp_path, ids)  # type: ignore[arg-type]


def test_parts_are_merged_in_shard_order_on_one_other_thread(tmp_path: Path) -> None:
    merge = FakeMerge()
    ids = [f"s{i}" for i in range(6)]
    f = feeder(tmp_path, merge, ids)
    f.finished(["s3", "s1"])
    f.finished([])  # nothing new is ready: s0 is missing
    f.finished(["s0"])
    f.finished(["s5", "s2", "s4"])
    f.wait()
    assert merge.merged == ["s0.parquet", "s1.arrow", "s2.parquet", "s3.arrow", "s4.parquet",
                            "s5.arrow"]  # fmt: skip
    assert merge.threads and threading.current_thread().name not in merge.threads


def test_a_failed_merge_is_raised_to_the_caller(tmp_path: Path) -> None:
    merge = FakeMerge(fail_on="s1.arrow")
    merge.gate.clear()  # hold the merge thread until all three parts are queued
    f = feeder(tmp_path, merge, ["s0", "s1", "s2"])
    f.finished(["s0", "s1", "s2"])
    merge.gate.set()
    with pytest.raises(ScanOutputError, match=r"s1\.arrow: broken"):
        f.wait()
    assert merge.merged == ["s0.parquet"]  # nothing merged after the broken part


def test_a_missing_part_reaches_the_merge_by_its_expected_name(tmp_path: Path) -> None:
    seen: list[Any] = []
    merge = FakeMerge()
    merge.part = seen.append  # type: ignore[method-assign]
    f = MergeFeeder(merge, tmp_path, ["gone"])  # type: ignore[arg-type]
    f.finished(["gone"])
    f.wait()
    assert seen == [tmp_path / "gone.parquet"]


def test_cancel_drops_parts_not_yet_started(tmp_path: Path) -> None:
    merge = FakeMerge()
    merge.gate.clear()  # the first part holds the merge thread until released
    f = feeder(tmp_path, merge, ["s0", "s1", "s2"])
    f.finished(["s0", "s1", "s2"])
    release = threading.Timer(0.2, merge.gate.set)
    release.start()
    f.cancel()  # drops s1 and s2 at once, then waits for s0
    release.join()
    assert merge.merged == ["s0.parquet"]
