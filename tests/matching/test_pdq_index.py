"""PDQIndex against a numpy brute-force reference, on random (benign) hashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.matching.pdq_reference import brute, flip, got, rand

from childsafe.errors import HashFormatError, IndexError_
from childsafe.matching import PDQIndex, pack_hex, unpack
from childsafe.matching.exact_index import MD5Index


@pytest.mark.parametrize("sorted_ids", [True, False])
def test_planted_near_duplicates_match_brute_force(sorted_ids: bool) -> None:
    rng = np.random.default_rng(7)
    h = rand(rng, 20_000)
    ids = np.arange(20_000) * 5 + 3
    if not sorted_ids:
        rng.shuffle(ids)
    planted = [flip(h[rng.integers(len(h))], d, rng) for d in range(41) for _ in range(5)]
    q = np.vstack([*planted, rand(rng, 37)])
    index = PDQIndex.build(unpack(h), ids.tolist())
    result = got(index, q, 31)
    assert result == brute(h, ids, q, 31)
    assert {d for _, _, d in result} == set(range(32))  # every planted distance <= 31 found


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 60),
    m=st.integers(0, 20),
    radius=st.integers(0, 256),
    seed=st.integers(0, 2**32 - 1),
)
def test_small_cases_match_brute_force(n: int, m: int, radius: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    h = rand(rng, n)
    q = np.vstack([rand(rng, m), *(flip(h[i], int(rng.integers(40)), rng)[None] for i in range(n))])
    index = PDQIndex()
    index.add_packed(h, np.arange(n))
    assert got(index, q, radius) == brute(h, np.arange(n), q, radius)


def test_radius_boundary_is_inclusive() -> None:
    rng = np.random.default_rng(1)
    base = rand(rng, 1)[0]
    index = PDQIndex()
    index.add_packed(np.vstack([flip(base, 31, np.random.default_rng(2)), base]), [1, 2])
    far = PDQIndex()
    far.add_packed(flip(base, 32, rng)[None], [3])
    assert index.query(unpack(base[None]), 31) == [[(2, 0), (1, 31)]]
    assert far.query(unpack(base[None]), 31) == [[]]
    assert far.query(unpack(base[None]), 32) == [[(3, 32)]]


def test_distance_is_hamming_distance_of_hex_values() -> None:
    rng = np.random.default_rng(3)
    a, b = unpack(rand(rng, 2))
    index = PDQIndex.build([a], [9])
    want = (int(a, 16) ^ int(b, 16)).bit_count()
    assert index.query([b], 256) == [[(9, want)]]
    assert pack_hex([a.upper()]).tolist() == pack_hex([a]).tolist()


def test_empty_index_and_empty_queries() -> None:
    index = PDQIndex()
    assert len(index) == 0
    assert index.query(["0" * 64, "f" * 64]) == [[], []]
    index.add_packed(rand(np.random.default_rng(0), 3), [1, 2, 3])
    assert index.query([]) == []


def test_bad_hex_names_the_item() -> None:
    with pytest.raises(HashFormatError, match="item 1"):
        pack_hex(["0" * 64, "0" * 63])
    with pytest.raises(HashFormatError, match="item 2"):
        pack_hex(["0" * 64, "1" * 64, "g" * 64])
    with pytest.raises(HashFormatError, match="item 0"):
        pack_hex(["é" * 64])


def test_remove_then_query_sorted_and_unsorted_ids() -> None:
    rng = np.random.default_rng(4)
    h = rand(rng, 5000)
    for ids in (np.arange(5000), rng.permutation(5000)):
        index = PDQIndex()
        index.add_packed(h, ids)
        gone = ids[:100]
        assert index.remove([-5, *gone.tolist(), 10**9]) == 100
        assert index.remove(gone.tolist()) == 0
        assert len(index) == 4900
        keep = np.isin(ids, gone, invert=True)
        assert got(index, h[:200], 0) == brute(h[keep], ids[keep], h[:200], 0)
        # Enough removals to compact: results must not change.
        assert index.remove(ids[100:2000].tolist()) == 1900
        assert len(index) == 3000 and index.nbytes <= 48 * 5000
        assert got(index, h, 5) == brute(h[2000:], ids[2000:], h, 5)


def test_remove_absent_id_next_to_present_one() -> None:
    index = PDQIndex()
    index.add_packed(rand(np.random.default_rng(0), 3), [10, 20, 30])
    assert index.remove([15, 20, 25]) == 1
    assert len(index) == 2


def test_many_hits_overflow_is_complete() -> None:
    rng = np.random.default_rng(5)
    h = rand(rng, 3000)
    q = rand(rng, 300)
    index = PDQIndex()
    index.add_packed(h, np.arange(3000))
    qi, _, _ = index.query_packed(q, 256)
    assert len(qi) == 300 * 3000  # every pair, far beyond the per-chunk capacity
    assert np.all(np.diff(qi) >= 0)


def test_large_query_batch() -> None:
    rng = np.random.default_rng(6)
    h = rand(rng, 4000)
    q = np.vstack([rand(rng, 20_000), h[::100]])
    index = PDQIndex()
    index.add_packed(h, np.arange(4000))
    assert got(index, q, 31) == brute(h, np.arange(4000), q, 31)


def test_save_load_round_trip_and_add_after_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    h = rand(rng, 3000)
    index = PDQIndex()
    index.add_packed(h, np.arange(3000))
    index.remove([5, 6])
    index.save(tmp_path / "idx", extra={"bank_version": 4})
    index.save(tmp_path / "idx")  # replacing an existing directory works
    loaded = PDQIndex.load(tmp_path / "idx")
    assert len(loaded) == 2998 and loaded.extra == {"bank_version": 4}
    assert got(loaded, h[:50], 10) == got(index, h[:50], 10)
    more = rand(rng, 10)
    loaded.add_packed(more, np.arange(5000, 5010))
    loaded.remove([7])
    assert got(loaded, more, 0) == [(i, 5000 + i, 0) for i in range(10)]
    assert got(loaded, h[7:8], 0) == []
    assert got(PDQIndex.load(tmp_path / "idx"), h[7:8], 0) == [(0, 7, 0)]  # file untouched
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no temp dirs left behind


def _saved(tmp_path: Path) -> Path:
    index = PDQIndex()
    index.add_packed(rand(np.random.default_rng(9), 100), np.arange(100))
    index.save(tmp_path / "idx")
    return tmp_path / "idx"


def _truncate(p: Path) -> None:
    (p / "hashes.npy").write_bytes((p / "hashes.npy").read_bytes()[:-32])


def _bitflip(p: Path) -> None:
    data = bytearray((p / "hashes.npy").read_bytes())
    data[-5] ^= 1
    (p / "hashes.npy").write_bytes(bytes(data))


def _swap_type(p: Path) -> None:
    meta = json.loads((p / "meta.json").read_text())
    meta["hash_type"] = "md5"
    (p / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "meta.json").unlink(), "meta.json: missing"),
        (lambda p: (p / "meta.json").write_text("{not json"), "damaged"),
        (lambda p: (p / "ids.npy").unlink(), "ids.npy: missing"),
        (_truncate, "truncated"),
        (_bitflip, "checksum"),
        (_swap_type, "not pdq"),
        (lambda p: (p / "hashes.npy").write_bytes(b"x" * 3328), "damaged"),
    ],
)
def test_damaged_files_raise_index_error(
    tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    path = _saved(tmp_path)
    damage(path)
    with pytest.raises(IndexError_, match=message):
        PDQIndex.load(path)


def test_missing_dir_and_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="no index directory"):
        PDQIndex.load(tmp_path / "nope")
    MD5Index.build(["0" * 32], [1]).save(tmp_path / "md5")
    with pytest.raises(IndexError_, match="not a childsafe-pdq-index"):
        PDQIndex.load(tmp_path / "md5")
