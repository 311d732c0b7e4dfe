"""video_md5 and vPDQ: threatexchange's meaning and format, robustness, and the vpdq oracle."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from tests.content.conftest import (
    WEBM_CODEC,
    gradient,
    panned,
    photo,
    reencode,
    write_audio_only,
    write_video,
)

from childsafe.content.base import Item
from childsafe.errors import CorruptContent, HashFormatError, UnsupportedContent
from childsafe.hashing.base import Hasher
from childsafe.hashing.pdq_core import hamming
from childsafe.hashing.registry import get_hasher
from childsafe.hashing.testing import HasherContract
from childsafe.hashing.video_md5 import VideoMD5Hasher
from childsafe.hashing.vpdq import (
    VPDQFrame,
    VPDQHasher,
    any_within,
    format_vpdq,
    parse_vpdq,
    pdq_words,
    vpdq_match,
)

HAVE_VPDQ = importlib.util.find_spec("vpdq") is not None


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    original = write_video(d / "original.mp4", panned(photo("astronaut"), 60))
    return {
        "original": original,
        "webm": write_video(d / "same.webm", panned(photo("astronaut"), 60), codec=WEBM_CODEC),
        "small": reencode(
            original, d / "small.mp4", codec="mpeg4", bit_rate=120_000, size=(176, 132)
        ),
        "large": reencode(
            original, d / "large.webm", codec=WEBM_CODEC, bit_rate=80_000, size=(480, 360)
        ),
        "other": write_video(d / "other.mp4", panned(photo("coffee"), 60)),
        "ntsc": write_video(
            d / "ntsc.mp4", panned(photo("chelsea"), 90), fps=Fraction(30000, 1001)
        ),
    }


@pytest.fixture(scope="module")
def hashes(videos: dict[str, Path]) -> dict[str, str]:
    hasher = VPDQHasher()
    return {name: hasher.hash_item(Item.from_path(p)).value for name, p in videos.items()}


def frames(pdqs: list[str], quality: int = 100) -> str:
    return format_vpdq([VPDQFrame(h, quality, float(i)) for i, h in enumerate(pdqs)])


def random_pdqs(n: int, seed: int) -> list[str]:
    return [bytes(r).hex() for r in np.random.default_rng(seed).integers(0, 256, (n, 32), np.uint8)]


def near(pdq: str, bits: int, seed: int = 0) -> str:
    value = int(pdq, 16)
    for bit in np.random.default_rng(seed).choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


# --- the hasher contract ---------------------------------------------------------------------


class VideoContract(HasherContract):
    @pytest.fixture
    def positive_item(self, videos: dict[str, Path]) -> Item:
        return Item.from_path(videos["webm"])

    @pytest.fixture
    def negative_item(self) -> Item:
        return Item.from_bytes(b"meeting notes, not a video\n" * 20, id="notes.txt")


class TestVideoMD5Contract(VideoContract):
    @pytest.fixture
    def hasher(self) -> Hasher:
        return VideoMD5Hasher()


class TestVPDQContract(VideoContract):
    @pytest.fixture
    def hasher(self) -> Hasher:
        return VPDQHasher()


# --- video_md5 -------------------------------------------------------------------------------


def test_video_md5_is_the_md5_of_the_file_bytes(videos: dict[str, Path]) -> None:
    data = videos["original"].read_bytes()
    hasher = get_hasher("video_md5")
    assert isinstance(hasher, VideoMD5Hasher) and hasher.exact
    want = hashlib.md5(data).hexdigest()
    assert hasher.hash_item(Item.from_path(videos["original"])).value == want
    assert hasher.hash_item(Item.from_bytes(data, id="v.mp4")).value == want
    # Same content, other container: a different file, so a different video_md5.
    assert hasher.hash_item(Item.from_path(videos["webm"])).value != want


def test_video_md5_agrees_with_threatexchange(videos: dict[str, Path]) -> None:
    md5 = pytest.importorskip("threatexchange.signal_type.md5")
    got = VideoMD5Hasher().hash_item(Item.from_path(videos["webm"])).value
    assert got == md5.VideoMD5Signal.hash_from_file(videos["webm"])


def test_video_md5_does_not_decode_and_validates() -> None:
    hasher = VideoMD5Hasher()
    junk = Item.from_bytes(b"\x00\x00\x00\x18ftypisom" + b"\xff" * 100, id="junk.mp4")
    assert hasher.hash_item(junk).value == hashlib.md5(junk.data or b"").hexdigest()
    with pytest.raises(UnsupportedContent, match=r"notes\.txt"):
        hasher.hash_item(Item.from_bytes(b"plain text", id="notes.txt"))
    assert hasher.validate("D41D8CD98F00B204E9800998ECF8427E") == "d41d8cd98f00b204e9800998ecf8427e"
    with pytest.raises(HashFormatError):
        hasher.validate("d41d8cd9")


# --- vPDQ hashing ----------------------------------------------------------------------------


def test_vpdq_string_is_threatexchange_format(hashes: dict[str, str]) -> None:
    value = hashes["original"]
    raw = json.loads(value)
    assert len(raw) == 6
    for i, frame in enumerate(raw):
        pdq, quality, timestamp = frame.split(",")
        assert len(pdq) == 64 and 0 <= int(quality) <= 100 and timestamp == f"{i}.000"
    assert VPDQHasher().validate(value) == value
    assert get_hasher("vpdq").validate(json.dumps([s.replace(",", ",0", 1) for s in raw])) == value


def test_vpdq_string_loads_in_threatexchange(hashes: dict[str, str]) -> None:
    util = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_util")  # needs vpdq too
    ours = parse_vpdq(hashes["ntsc"])
    features = util.json_to_vpdq(hashes["ntsc"])
    assert [(f.pdq_hex, f.quality, f.timestamp) for f in features] == [
        (f.pdq, f.quality, f.timestamp) for f in ours
    ]
    # threatexchange writes timestamps with ``:.3`` (3 significant digits: 2.903 -> "2.9");
    # its strings still load, with that precision.
    theirs = parse_vpdq(util.vpdq_to_json(features))
    assert [(f.pdq, f.quality) for f in theirs] == [(f.pdq, f.quality) for f in ours]
    assert [f.timestamp for f in theirs] == [float(f"{f.timestamp:.3}") for f in ours]
    assert any(t.timestamp != o.timestamp for t, o in zip(theirs, ours, strict=True))


def test_reencoded_copies_match_and_other_videos_do_not(hashes: dict[str, str]) -> None:
    hasher = VPDQHasher()
    for copy in ("webm", "small", "large"):
        query, compared = vpdq_match(hashes[copy], hashes["original"])
        assert query >= 80 and compared >= 80, copy
        assert hasher.distance(hashes[copy], hashes["original"]) <= 20
    assert vpdq_match(hashes["other"], hashes["original"]) == (0.0, 0.0)
    assert hasher.distance(hashes["other"], hashes["original"]) == 100
    assert hasher.distance(hashes["original"], hashes["original"]) == 0


def test_truncated_copy_matches_as_a_query(videos: dict[str, Path], hashes: dict[str, str]) -> None:
    data = videos["webm"].read_bytes()
    cut = VPDQHasher().hash_item(Item.from_bytes(data[: len(data) // 2], id="cut.webm")).value
    query, compared = vpdq_match(cut, hashes["original"])
    assert query == 100 and 0 < compared < 100


def test_bad_videos_raise_content_errors(tmp_path: Path) -> None:
    hasher = VPDQHasher()
    with pytest.raises(CorruptContent, match=r"empty\.mp4"):
        hasher.hash_item(Item.from_bytes(b"", id="empty.mp4"))
    with pytest.raises(CorruptContent, match=r"noise\.mp4"):
        hasher.hash_item(Item.from_bytes(np.random.default_rng(1).bytes(50_000), id="noise.mp4"))
    with pytest.raises(UnsupportedContent, match=r"voice\.mp4: no video stream"):
        hasher.hash_item(Item.from_path(write_audio_only(tmp_path / "voice.mp4")))
    with pytest.raises(UnsupportedContent, match=r"readme\.txt"):
        hasher.hash_item(Item.from_bytes(b"not a video", id="readme.txt"))
    tiny = write_video(tmp_path / "tiny.mp4", gradient(10, (4, 4)), codec="mpeg4")
    with pytest.raises(UnsupportedContent, match="4x4 frames"):
        hasher.hash_item(Item.from_path(tiny))


# --- vPDQ matching semantics -----------------------------------------------------------------


def test_match_percentages_follow_threatexchange() -> None:
    a = random_pdqs(5, seed=1)
    b = [near(a[0], 31), near(a[1], 10), near(a[2], 32), *random_pdqs(3, seed=2)]
    # a[0] and a[1] have twins in b (31 bits is still a match, 32 is not)
    assert vpdq_match(frames(a), frames(b)) == (40.0, pytest.approx(100 * 2 / 6))
    assert VPDQHasher().distance(frames(a), frames(b)) == 100 - 33
    assert vpdq_match(frames(a), frames(b), pdq_radius=32) == (60.0, 50.0)
    # Duplicate frames count once; low-quality frames not at all.
    doubled = frames([a[0], a[0], a[1]])
    assert vpdq_match(doubled, frames(a)) == (100.0, 40.0)
    # Dedupe before the quality filter: the first copy of a hash decides (threatexchange).
    first_low = format_vpdq([VPDQFrame(a[0], 10, 0), VPDQFrame(a[0], 100, 1)])
    first_high = format_vpdq([VPDQFrame(a[0], 100, 0), VPDQFrame(a[0], 10, 1)])
    assert vpdq_match(first_low, frames(a)) == (0.0, 0.0)
    assert vpdq_match(first_high, frames(a)) == (100.0, 20.0)
    # Two query frames near one frame of the other video: that frame counts once.
    assert vpdq_match(frames([near(a[0], 5), near(a[0], 6, 1)]), frames(a[:2])) == (100.0, 50.0)
    low = format_vpdq([VPDQFrame(a[0], 100, 0), VPDQFrame(a[3], 49, 1)])
    assert vpdq_match(low, frames(a)) == (100.0, 20.0)
    assert vpdq_match(low, frames(a), quality_floor=0) == (100.0, 40.0)
    # Nothing comparable: no match rather than a division by zero.
    assert vpdq_match(frames(a, quality=10), frames(a)) == (0.0, 0.0)
    assert VPDQHasher().distance(frames(a, quality=10), frames(a)) == 100
    assert vpdq_match("[]", frames(a)) == (0.0, 0.0)


def test_distance_floors_so_integer_thresholds_are_exact() -> None:
    a = random_pdqs(5, seed=3)
    four_of_five = frames(a[:4])
    assert VPDQHasher().distance(four_of_five, frames(a)) == 20  # exactly 80 %
    three_of_four = frames([*a[:3], *random_pdqs(1, 9)])
    assert VPDQHasher().distance(three_of_four, frames(a[:3])) == 25
    two_of_three = frames([*a[:2], *random_pdqs(1, 9)])
    assert VPDQHasher().distance(two_of_three, frames(a[:2])) == 34  # 66.7 % -> 66


def test_agrees_with_threatexchange_brute_matcher() -> None:
    brute = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_brute_matcher")
    util = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_util")
    rng = np.random.default_rng(5)
    base = random_pdqs(12, seed=5)
    for trial in range(20):
        qa = [near(h, int(rng.integers(0, 45)), trial) for h in base[: rng.integers(1, 12)]]
        qb = [near(h, int(rng.integers(0, 45)), trial + 1) for h in base[rng.integers(0, 6) :]]
        a = format_vpdq([VPDQFrame(h, int(rng.integers(30, 101)), i) for i, h in enumerate(qa)])
        b = format_vpdq([VPDQFrame(h, int(rng.integers(30, 101)), i) for i, h in enumerate(qb)])
        try:
            want = brute.match_VPDQ_hash_brute(util.json_to_vpdq(a), util.json_to_vpdq(b), 50, 31)
        except ZeroDivisionError:
            assert vpdq_match(a, b) == (0.0, 0.0)
            continue
        assert vpdq_match(a, b) == pytest.approx(
            (want.query_match_percent, want.compared_match_percent)
        )


def test_vectorised_hamming_matches_reference() -> None:
    a, b = random_pdqs(300, seed=7), random_pdqs(4000, seed=8)  # 300 rows > one block
    a[5] = near(b[17], 31)
    a[250] = near(b[3999], 20)
    got = any_within(pdq_words(a), pdq_words(b), 31)
    popcount = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)
    bytes_a, bytes_b = pdq_words(a).view(np.uint8), pdq_words(b).view(np.uint8)
    dist = popcount[bytes_a[:, None, :] ^ bytes_b[None, :, :]].sum(axis=2)
    assert np.array_equal(got, (dist <= 31).any(axis=1))
    assert got[5] and got[250] and hamming(a[5], b[17]) == 31


def test_vpdq_is_registered() -> None:
    hasher = get_hasher("vpdq")
    assert isinstance(hasher, VPDQHasher) and not hasher.exact
    assert hasher.kinds == frozenset({"video"})
    with pytest.raises(HashFormatError):
        hasher.validate('["abc,100,0"]')


# --- oracle: Meta's vpdq package -------------------------------------------------------------


@pytest.mark.skipif(not HAVE_VPDQ, reason="the vpdq package is not installed")
@pytest.mark.parametrize("name", ["original", "webm", "small", "large", "ntsc"])
def test_agrees_with_vpdq_compute_hash(
    videos: dict[str, Path], hashes: dict[str, str], name: str
) -> None:
    import vpdq  # type: ignore[import-not-found]

    want = vpdq.computeHash(str(videos[name]), seconds_per_hash=1.0)
    got = parse_vpdq(hashes[name])
    assert [f.timestamp for f in got] == [round(f.timestamp, 3) for f in want]
    assert [f.quality for f in got] == [f.quality for f in want]
    assert max(hamming(g.pdq, w.hex) for g, w in zip(got, want, strict=True)) <= 2
