"""The merge's columnar helpers against the per-row code they replaced (kept as reference)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from tests.scan.test_outputs import context, row, write_part

from childsafe.scan._kernels import blake2b64, string_buffers, unlistable
from childsafe.scan.clean import DecoyPool, bottom_k, bottom_k_file, listable
from childsafe.scan.outputs import write_outputs

ODD = 'ab\n\r\x00\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029\u2027é,"'


def strings(rnd: random.Random, n: int) -> list[str]:
    fixed = ["", "a", "x" * 127, "y" * 128, "z" * 129, "é" * 100, "w" * 300, "q" * 256]
    size = [rnd.randrange(0, 300) for _ in range(n)]
    return fixed + ["".join(rnd.choice(ODD) for _ in range(k)) for k in size]


@pytest.mark.parametrize("key", [b"", b"0", b"12345", b"k" * 64])
def test_blake2b64_is_hashlib(key: bytes) -> None:
    values = strings(random.Random(1), 500)
    arr = pa.array(values)
    for a, vals in ((arr, values), (arr.slice(3, 200), values[3:203])):
        want = [
            int.from_bytes(hashlib.blake2b(s.encode(), key=key, digest_size=8).digest(), "big")
            for s in vals
        ]
        assert blake2b64(*string_buffers(a), key).tolist() == want


def test_unlistable_is_not_listable() -> None:
    values = strings(random.Random(2), 2000)
    assert unlistable(*string_buffers(pa.array(values))).tolist() == [
        not listable(s) for s in values
    ]


@pytest.mark.parametrize("trial", range(30))
def test_decoy_pool_and_file_scan_choose_what_bottom_k_chooses(trial: int, tmp_path: Path) -> None:
    rnd = random.Random(trial)
    n = rnd.randrange(0, 3000)
    ids = [f"id{rnd.randrange(0, n + 1)}é" for _ in range(n)]
    exclude = set(rnd.sample(ids, min(len(ids), rnd.randrange(0, 40))))
    k, seed = rnd.randrange(0, 120), rnd.randrange(0, 5)
    want = sorted(bottom_k(ids, k, seed, exclude))
    path = tmp_path / "kept.txt"
    path.write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    assert sorted(bottom_k_file(path, k, seed, exclude, block_bytes=rnd.choice([7, 999]))) == want
    pool = DecoyPool(seed, cap=rnd.choice([1, 16, 4096]))
    for start in range(0, n, 256):
        chunk = pa.array(ids[start : start + 256], pa.string())
        pool.add(chunk, blake2b64(*string_buffers(chunk), pool.key))
    chosen = pool.choose(k, exclude)
    assert chosen is None or sorted(chosen) == want


def test_merge_matches_per_row_reference(tmp_path: Path) -> None:
    """kept_ids, removal list, duplicate count and unlisted count as the per-row code had them."""
    rnd = random.Random(7)
    decisions = ["allow"] * 8 + ["block", "review", "error"]
    parts, rows_all = [], []
    for s in range(4):
        rows = []
        for i in range(700):
            item_id: str | None = rnd.choice(
                [f"s{s}-{i}", f"dup-{rnd.randrange(50)}", f"bad\n{i}", f"u\u2028{i}", None]
            )
            rows.append(row(item_id, rnd.choice(decisions)))  # type: ignore[arg-type]
        rows_all += rows
        parts.append(write_part(tmp_path / "parts", f"s{s}", rows))
    summary = write_outputs(tmp_path / "out", parts, context(decoy_ratio=1.5, seed=3))
    out = tmp_path / "out"
    kept = [r["item_id"] for r in rows_all if r["decision"] == "allow" and r["item_id"]]
    want_kept = [i for i in kept if listable(i)]
    assert (out / "kept_ids.txt").read_bytes() == "".join(i + "\n" for i in want_kept).encode()
    removals = {
        r["item_id"]
        for r in rows_all
        if r["decision"] in ("block", "review") and r["item_id"] and listable(r["item_id"])
    }
    decoys = bottom_k(want_kept, int(1.5 * len(removals) + 0.5), 3, removals)
    listed = (out / "removal_list.txt").read_text("utf-8").splitlines()
    assert listed == sorted(removals.union(decoys))
    ids = [r["item_id"] for r in rows_all if r["item_id"] is not None]
    assert summary.duplicate_ids == sum(c - 1 for c in Counter(ids).values())
    unlisted = sum(
        1
        for r in rows_all
        if r["decision"] != "error" and r["item_id"] and not listable(r["item_id"])
    )
    assert any(str(unlisted) in w for w in summary.warnings)
