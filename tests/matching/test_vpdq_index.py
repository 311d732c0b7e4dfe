"""VPDQIndex: the fast path, checked against ``VPDQHasher.distance`` / ``vpdq_match``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.content.conftest import WEBM_CODEC, panned, photo, reencode, write_video

from childsafe.content.base import Item
from childsafe.errors import HashFormatError, IndexError_
from childsafe.hashing.vpdq import VPDQFrame, VPDQHasher, format_vpdq, match_distance, vpdq_match
from childsafe.matching.vpdq_index import VPDQIndex


def video(pdqs: list[str], quality: int = 100) -> str:
    return format_vpdq([VPDQFrame(h, quality, float(i)) for i, h in enumerate(pdqs)])


def random_pdqs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [bytes(r).hex() for r in rng.integers(0, 256, (n, 32), np.uint8)]


def near(pdq: str, bits: int, rng: np.random.Generator) -> str:
    value = int(pdq, 16)
    for bit in rng.choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def reference(
    index: VPDQIndex, entries: dict[int, str], query: str, radius: int | None = None
) -> list[tuple[int, int]]:
    """What the index must return, from the pairwise reference."""
    out = []
    for entry_id, value in entries.items():
        q, c = vpdq_match(
            query, value, pdq_radius=index.pdq_radius, quality_floor=index.quality_floor
        )
        d = match_distance(q, c)
        if (
            q > 0
            and q >= index.query_match_percent
            and c >= index.compared_match_percent
            and (radius is None or d <= radius)
        ):
            out.append((entry_id, d))
    return sorted(out, key=lambda hit: (hit[1], hit[0]))


@pytest.fixture(scope="module")
def library() -> tuple[dict[int, str], list[str]]:
    """Entries over overlapping windows of one frame pool, and noisy excerpts of them."""
    rng = np.random.default_rng(11)
    pool = random_pdqs(130, seed=12)
    windows = {100 + k: pool[4 * k : 4 * k + int(rng.integers(1, 9))] for k in range(30)}
    entries = {
        entry_id: format_vpdq(
            [VPDQFrame(h, int(rng.integers(40, 101)), float(i)) for i, h in enumerate(frames)]
        )
        for entry_id, frames in windows.items()
    }
    queries = []
    for _ in range(40):
        frames = windows[100 + int(rng.integers(0, 30))]
        extra = random_pdqs(int(rng.random() < 0.25), int(rng.integers(1 << 30)))
        excerpt = frames[int(rng.integers(0, 2)) :] + extra
        noisy = [near(h, int(rng.integers(0, 34)), rng) for h in excerpt]  # 32, 33: no match
        queries.append(video(noisy, quality=int(rng.integers(45, 101))))
    return entries, queries


@pytest.mark.parametrize(
    "settings",
    [{}, {"query_match_percent": 0.0}, {"compared_match_percent": 50.0, "pdq_radius": 20}],
    ids=["defaults", "any-overlap", "strict"],
)
def test_index_agrees_with_reference(
    library: tuple[dict[int, str], list[str]], settings: dict[str, float]
) -> None:
    entries, queries = library
    index = VPDQIndex(**settings)  # type: ignore[arg-type]
    index.add(list(entries.values()), list(entries))
    got = index.query(queries)
    want = [reference(index, entries, q) for q in queries]
    assert got == want
    assert any(got)  # the comparison is not vacuous
    assert index.query(queries, radius=30) == [reference(index, entries, q, 30) for q in queries]


def test_shared_frames_match_every_entry_holding_them() -> None:
    frames = random_pdqs(4, seed=1)
    index = VPDQIndex.build([video(frames), video(frames[:2]), video(random_pdqs(3, 2))], [1, 2, 3])
    assert index.query([video(frames[:2])]) == [[(2, 0), (1, 50)]]
    assert index.remove([2, 99]) == 1 and len(index) == 2
    assert index.query([video(frames[:2])]) == [[(1, 50)]]
    assert index.query([video(frames[:2])], radius=40) == [[]]
    index.add([video(frames[2:])], [1])  # re-adding an id replaces the entry
    assert index.query([video(frames[:2])]) == [[]]
    assert index.query([video(frames[2:])]) == [[(1, 0)]]
    assert len(index) == 2


def test_frames_are_counted_once_on_each_side() -> None:
    rng = np.random.default_rng(3)
    frames = random_pdqs(2, seed=3)
    index = VPDQIndex.build([video(frames), video([frames[0], near(frames[0], 4, rng)])], [1, 2])
    twins = video([near(frames[0], 5, rng), near(frames[0], 6, rng)])
    # Entry 1: both query frames hit its frame 0 only (compared 50 %); entry 2: each query
    # frame hits both of its frames (compared 100 %).
    assert index.query([twins]) == [[(2, 0), (1, 50)]]
    first_low = format_vpdq([VPDQFrame(frames[1], 10, 0), VPDQFrame(frames[1], 90, 1)])
    assert index.query([first_low]) == [[]]  # dedupe first, then the quality filter


def test_low_quality_entry_is_kept_but_never_matches() -> None:
    frames = random_pdqs(3, seed=4)
    index = VPDQIndex.build([video(frames, quality=10), "[]"], [7, 8])
    assert len(index) == 2
    assert index.query([video(frames)]) == [[]]
    assert index.query([video(frames, quality=10)]) == [[]]


def test_bad_input_changes_nothing() -> None:
    frames = random_pdqs(2, seed=5)
    index = VPDQIndex.build([video(frames)], [1])
    with pytest.raises(HashFormatError):
        index.add([video(frames), '["nothex,100,0"]'], [1, 2])
    with pytest.raises(ValueError, match="duplicate"):
        index.add([video(frames), video(frames)], [3, 3])
    with pytest.raises(ValueError, match="2 values but 1 ids"):
        index.add([video(frames), video(frames)], [3])
    assert len(index) == 1 and index.query([video(frames)]) == [[(1, 0)]]


def test_save_and_load_round_trip(
    tmp_path: Path, library: tuple[dict[int, str], list[str]]
) -> None:
    entries, queries = library
    index = VPDQIndex(compared_match_percent=10.0)
    index.add(list(entries.values()), list(entries))
    index.remove([100, 101])
    path = tmp_path / "idx"
    index.save(path)
    index.save(path)  # saving over an existing index replaces it
    loaded = VPDQIndex.load(path)
    assert len(loaded) == len(index) == 28
    assert loaded.compared_match_percent == 10.0
    assert loaded.query(queries) == index.query(queries)
    loaded.add([entries[100]], [100])  # a loaded index keeps growing without id clashes
    assert loaded.query([entries[100]])[0][0] == (100, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_damaged_index_is_refused(tmp_path: Path) -> None:
    index = VPDQIndex.build([video(random_pdqs(3, 6))], [1])
    index.save(tmp_path / "idx")
    (tmp_path / "idx" / "entries" / "entry_frames.npy").write_bytes(b"junk")
    with pytest.raises(IndexError_):
        VPDQIndex.load(tmp_path / "idx")
    with pytest.raises(IndexError_):
        VPDQIndex.load(tmp_path / "nowhere")


def test_real_videos(tmp_path: Path) -> None:
    original = write_video(tmp_path / "a.mp4", panned(photo("astronaut"), 40))
    copy = reencode(
        original, tmp_path / "copy.webm", codec=WEBM_CODEC, bit_rate=90_000, size=(200, 150)
    )
    other = write_video(tmp_path / "b.mp4", panned(photo("coffee"), 40))
    hasher = VPDQHasher()
    value = {p.stem: hasher.hash_item(Item.from_path(p)).value for p in (original, copy, other)}
    index = VPDQIndex.build([value["a"], value["b"]], [1, 2])
    got = index.query([value["copy"], value["a"]])
    assert got[0] == [(1, hasher.distance(value["copy"], value["a"]))] and got[0][0][1] <= 20
    assert got[1] == [(1, 0)]
