"""The PDQ scan's 128-bit prefix filter and column layout, against a numpy brute force.

The filter (``_kernels.scan_prefix``) rejects a pair when the distance over words 0-1 alone
exceeds the radius. That is exact only because the full distance can never be smaller than a
part of it, so these tests plant near-duplicates whose differing bits sit all in the prefix,
all in the suffix, or spread out, at every distance 0-40 and on both sides of the radius, and
check radii on both sides of ``PREFIX_MAX_RADIUS`` (where the kernel switches).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.matching.pdq_reference import brute, flip_in, got, rand

from childsafe.errors import IndexError_
from childsafe.matching import PDQIndex, _kernels
from childsafe.matching._persist import write_index_dir

PREFIX, SUFFIX, ALL = np.arange(128), np.arange(128, 256), np.arange(256)


def planted(h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Queries at distance 0-40 from random rows, flips in the prefix, suffix or anywhere."""
    rows = []
    for d in range(41):
        for bits in (PREFIX, SUFFIX, ALL):
            rows.append(flip_in(h[rng.integers(len(h))], d, bits, rng))
    return np.vstack([*rows, rand(rng, 11)])


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    # Not a multiple of SUB_BLOCK, and the query count not a multiple of QUERY_BLOCK.
    h = rand(rng, 3 * _kernels.SUB_BLOCK * 7 + 123)
    ids = rng.permutation(len(h)) * 3 + 1
    return h, ids, planted(h, rng)


@pytest.mark.parametrize(
    "radius",
    [0, 1, 15, 31, 32, _kernels.PREFIX_MAX_RADIUS, _kernels.PREFIX_MAX_RADIUS + 1, 40, 48, 64, 256],
)
def test_planted_at_all_distances_match_brute_force(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], radius: int
) -> None:
    h, ids, q = data
    index = PDQIndex()
    index.add_packed(h, ids)
    result = got(index, q, radius)
    assert result == brute(h, ids, q, radius)
    if radius <= 40:  # every planted distance up to the radius is found
        assert {d for _, _, d in result} == set(range(radius + 1))


@pytest.mark.parametrize("bits", [PREFIX, SUFFIX, ALL], ids=["prefix", "suffix", "spread"])
def test_boundary_31_32_wherever_the_bits_differ(bits: np.ndarray) -> None:
    rng = np.random.default_rng(12)
    base = rand(rng, 1)[0]
    h = np.vstack([flip_in(base, 31, bits, rng), flip_in(base, 32, bits, rng), rand(rng, 700)])
    index = PDQIndex()
    index.add_packed(h, np.arange(len(h)))
    assert got(index, base[None], 31) == [(0, 0, 31)]
    assert got(index, base[None], 32) == [(0, 0, 31), (0, 1, 32)]
    assert got(index, base[None], 30) == []


def test_add_remove_compact_then_add_again(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    h, ids, q = data
    index = PDQIndex()
    half = len(h) // 2
    index.add_packed(h[:half], ids[:half])
    index.add_packed(h[half:], ids[half:])
    gone = ids[::3]
    index.remove(gone.tolist())  # a third of the rows: compacts
    assert index._live is None and len(index) == len(h) - len(gone)
    keep = np.isin(ids, gone, invert=True)
    assert got(index, q, 31) == brute(h[keep], ids[keep], q, 31)
    index.add_packed(h[~keep], ids[~keep])  # back in, appended after the compaction
    assert sorted(got(index, q, 40)) == sorted(brute(h, ids, q, 40))
    hashes, entry_ids = index.entries()
    order = np.argsort(entry_ids)
    assert np.array_equal(hashes[order], h[np.argsort(ids)])
    assert index.nbytes <= 48 * len(index)


def test_hits_carry_the_matched_hashes(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    h, ids, q = data
    index = PDQIndex()
    index.add_packed(h, ids)
    hits = index.search(q, 31)
    row_of = {int(v): i for i, v in enumerate(ids)}
    want = h[[row_of[int(i)] for i in hits.entry_ids]]
    assert hits.hashes.shape == (len(hits.entry_ids), 4) and np.array_equal(hits.hashes, want)


def test_saved_columns_are_memory_mapped_and_round_trip(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    h, ids, q = data
    index = PDQIndex()
    index.add_packed(h, ids)
    index.save(tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["hash_layout"] == "columns" and meta["files"]["hashes"]["shape"] == [4 * len(h)]
    loaded = PDQIndex.load(tmp_path / "idx")
    assert not loaded._h.flags.owndata and not loaded._h.flags.writeable  # a view of the map
    assert got(loaded, q, 31) == got(index, q, 31) == brute(h, ids, q, 31)
    assert got(loaded, q, 48) == brute(h, ids, q, 48)


def test_index_saved_in_the_row_layout_still_loads(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    h, ids, q = data
    # What PDQIndex.save wrote before the column layout: (N, 4) rows and no hash_layout key.
    meta = {"hash_type": "pdq", "count": len(h), "ids_sorted": False, "extra": {"v": 1}}
    write_index_dir(tmp_path / "old", "childsafe-pdq-index", {"hashes": h, "ids": ids}, meta)
    loaded = PDQIndex.load(tmp_path / "old")
    assert len(loaded) == len(h) and loaded.extra == {"v": 1}
    assert got(loaded, q, 31) == brute(h, ids, q, 31)
    loaded.add_packed(h[:1], [10**9])
    assert got(loaded, h[:1], 0) == sorted([(0, int(ids[0]), 0), (0, 10**9, 0)])


def test_unknown_layout_or_wrong_shape_is_a_clear_error(tmp_path: Path) -> None:
    h = rand(np.random.default_rng(13), 4)  # 4 rows: (4, 4) would read either way round
    meta = {"hash_type": "pdq", "count": 4, "hash_layout": "diagonal"}
    write_index_dir(tmp_path / "a", "childsafe-pdq-index", {"hashes": h, "ids": np.arange(4)}, meta)
    with pytest.raises(IndexError_, match="unknown hash layout 'diagonal'"):
        PDQIndex.load(tmp_path / "a")
    meta["hash_layout"] = "columns"  # columns must be saved flat, so (4, 4) is refused
    write_index_dir(tmp_path / "b", "childsafe-pdq-index", {"hashes": h, "ids": np.arange(4)}, meta)
    with pytest.raises(IndexError_, match="do not hold 4 pdq entries"):
        PDQIndex.load(tmp_path / "b")


def test_kernels_agree_with_each_other_at_every_radius() -> None:
    rng = np.random.default_rng(14)
    h = rand(rng, 2000)
    q = np.vstack([flip_in(h[i], i % 60, ALL, rng) for i in range(0, 2000, 20)])
    cols = np.ascontiguousarray(h.T)
    qp = np.vstack([q, np.repeat(q[-1:], (-len(q)) % _kernels.QUERY_BLOCK, axis=0)])
    starts, ends = np.array([0, 700], np.int64), np.array([700, 2000], np.int64)

    def pairs(scan: object, r: int) -> set[tuple[int, int, int]]:
        counts, oq, orow, od = scan(cols, starts, ends, qp, len(q), r, 4000)  # type: ignore[operator]
        return {
            (int(oq[c, i]), int(orow[c, i]), int(od[c, i]))
            for c in range(len(counts))
            for i in range(counts[c])
        }

    for r in (0, 20, 31, 45, 60):
        want = {(a, int(ids), d) for a, ids, d in brute(h, np.arange(2000), q, r)}
        assert pairs(_kernels.scan_prefix, r) == pairs(_kernels.scan_full, r) == want
