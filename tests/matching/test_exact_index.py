"""ExactIndex: equality lookup, incremental updates and persistence, on random digests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from childsafe.errors import HashFormatError, IndexError_
from childsafe.matching import ExactIndex, exact_index
from childsafe.matching.exact_index import MD5Index, SHA256Index


def digests(n: int, width: int = 32, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [rng.randbytes(width // 2).hex() for _ in range(n)]


@pytest.fixture(params=[False, True], ids=["pending", "merged"])
def small_merge(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run each test with the pending buffer and with merges into the sorted arrays."""
    if request.param:
        monkeypatch.setattr(exact_index, "_MIN_PENDING", 4)
    return bool(request.param)


def test_lookup_hits_and_misses(small_merge: bool) -> None:
    values = [*digests(200), "00" * 16, "61" + "00" * 15, "00" * 15 + "01"]
    index = ExactIndex.for_type("md5")
    for start in range(0, len(values), 7):
        index.add(values[start : start + 7], list(range(start, min(start + 7, len(values)))))
    assert len(index) == len(values)
    got = index.query([*values, *digests(5, seed=1), values[3].upper()])
    assert got[: len(values)] == [[(i, 0)] for i in range(len(values))]
    assert got[len(values) : -1] == [[]] * 5
    assert got[-1] == [(3, 0)]


def test_one_value_many_ids_and_remove(small_merge: bool) -> None:
    index = MD5Index()
    v = digests(3)
    index.add([v[0], v[1], v[0]], [10, 11, 12])
    index.add([v[0], v[2]], [13, 14])
    assert index.query([v[0]]) == [[(10, 0), (12, 0), (13, 0)]]
    assert index.remove([12, 14, 99]) == 2
    assert index.remove([12]) == 0
    assert index.query([v[0], v[2]]) == [[(10, 0), (13, 0)], []]
    assert len(index) == 3


def test_many_removals_compact() -> None:
    values = digests(5000)
    index = MD5Index()
    index.add(values, range(5000))
    assert index.remove(range(0, 5000, 2)) == 2500
    got = index.query(values[:10])
    assert got == [[] if i % 2 == 0 else [(i, 0)] for i in range(10)]
    assert len(index) == 2500


def test_save_load_round_trip(tmp_path: Path, small_merge: bool) -> None:
    values = digests(300, 64)
    index = ExactIndex.for_type("sha256")
    index.add(values[:290], range(290))
    index.add(values[290:], range(290, 300))  # may still be pending: save merges it
    index.remove([0])
    index.save(tmp_path / "x", extra={"v": 1})
    loaded = ExactIndex.load(tmp_path / "x")
    assert isinstance(loaded, SHA256Index) and loaded.extra == {"v": 1}
    assert loaded.query(values) == [[]] + [[(i, 0)] for i in range(1, 300)]
    loaded.add(digests(2, 64, seed=9), [500, 501])
    loaded.remove([5])
    assert loaded.query([values[5], *digests(2, 64, seed=9)]) == [[], [(500, 0)], [(501, 0)]]
    vals, ids = loaded.entries()
    assert len(vals) == len(ids) == 300 and sorted(vals) == vals
    with pytest.raises(IndexError_, match="not a MD5Index"):
        MD5Index.load(tmp_path / "x")


def test_damage_and_bad_input(tmp_path: Path) -> None:
    index = MD5Index.build(digests(10), range(10))
    index.save(tmp_path / "x")
    data = bytearray((tmp_path / "x" / "hashes.npy").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "x" / "hashes.npy").write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="checksum"):
        ExactIndex.load(tmp_path / "x")
    with pytest.raises(HashFormatError, match="item 1"):
        index.add(["0" * 32, "0" * 40], [1, 2])
    with pytest.raises(ValueError, match="no exact index"):
        ExactIndex.for_type("pdq")
    with pytest.raises(TypeError):
        ExactIndex()
