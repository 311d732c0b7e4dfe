"""Frame sampling: vPDQ's selection rule, both sources, and every way a video can be bad."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from tests.content.conftest import (
    WEBM_CODEC,
    gradient,
    panned,
    photo,
    write_audio_only,
    write_video,
)

from childsafe.content.base import Item
from childsafe.content.video import iter_frames
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent, UnsupportedContent


def numbers(item: Item, **kw: float) -> list[tuple[int, float]]:
    return [(n, t) for n, t, _ in iter_frames(item, **kw)]


def test_one_frame_per_second_from_path_and_bytes(astronaut_mp4: Path) -> None:
    from_path = list(iter_frames(Item.from_path(astronaut_mp4)))
    from_bytes = list(iter_frames(Item.from_bytes(astronaut_mp4.read_bytes(), id="a.mp4")))
    assert [(n, t) for n, t, _ in from_path] == [(10 * s, float(s)) for s in range(6)]
    assert [(n, t) for n, t, _ in from_bytes] == [(n, t) for n, t, _ in from_path]
    for (_, _, a), (_, _, b) in zip(from_path, from_bytes, strict=True):
        assert a.dtype == np.uint8 and a.shape == (240, 320, 3)
        assert np.array_equal(a, b)


def test_sampling_rate_follows_vpdq(astronaut_mp4: Path) -> None:
    item = Item.from_path(astronaut_mp4)
    assert [n for n, _ in numbers(item, seconds_per_frame=0)] == list(range(60))
    assert [n for n, _ in numbers(item, seconds_per_frame=0.5)] == list(range(0, 60, 5))
    assert [n for n, _ in numbers(item, seconds_per_frame=2.5)] == [0, 25, 50]
    with pytest.raises(ValueError):
        numbers(item, seconds_per_frame=-1)


def test_ntsc_rate_uses_truncated_modulus_and_float32_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "ntsc.mp4", gradient(100, (64, 48)), fps=Fraction(30000, 1001))
    got = numbers(Item.from_path(path))
    assert [n for n, _ in got] == [0, 29, 58, 87]  # int(1.0 * 29.97) == 29
    assert [t for _, t in got] == [
        float(np.float32(n) / np.float32(30000 / 1001)) for n in (0, 29, 58, 87)
    ]


def test_max_seconds_stops_early(astronaut_mp4: Path) -> None:
    assert [t for _, t in numbers(Item.from_path(astronaut_mp4), max_seconds=2.5)] == [0, 1, 2]


def test_webm_and_unicode_file_name(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "vidéo 日本 ✓.webm", panned(photo("coffee"), 20), codec=WEBM_CODEC
    )
    assert [n for n, _ in numbers(Item.from_path(path))] == [0, 10]


def test_limits_raise_too_large(astronaut_mp4: Path) -> None:
    item = Item.from_path(astronaut_mp4)
    with pytest.raises(ContentTooLarge, match=r"astronaut\.mp4: 320x240"):
        numbers(item, max_pixels=320 * 240 - 1)
    with pytest.raises(ContentTooLarge, match="more than 30 frames"):
        numbers(item, max_frames=30)


def test_audio_only_is_unsupported(tmp_path: Path) -> None:
    path = write_audio_only(tmp_path / "speech.mp4")
    with pytest.raises(UnsupportedContent, match=r"speech\.mp4: no video stream"):
        numbers(Item.from_path(path))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", CorruptContent),
        (b"\x00" * 5000, CorruptContent),
        (np.random.default_rng(7).bytes(200_000), CorruptContent),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, ContentError),
        # Playlists and concat lists would make FFmpeg open other files: never allowed.
        (
            b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n",
            ContentError,
        ),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", ContentError),
    ],
    ids=["zero-bytes", "zeros", "random", "png", "hls", "concat"],
)
def test_bad_bytes_raise_content_errors_naming_the_item(data: bytes, error: type) -> None:
    with pytest.raises(error, match=r"^clip\.mp4: "):
        numbers(Item.from_bytes(data, id="clip.mp4"))


def test_real_png_is_unsupported(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "still.png"
    Image.fromarray(photo("coffee")).save(path)
    with pytest.raises(UnsupportedContent, match="not a supported video container"):
        numbers(Item.from_path(path))


def test_truncated_mp4_is_corrupt(astronaut_mp4: Path) -> None:
    data = astronaut_mp4.read_bytes()  # moov atom at the end, as PyAV writes it
    for cut in (0.1, 0.5, 0.95):
        with pytest.raises(CorruptContent, match=r"cut\.mp4"):
            numbers(Item.from_bytes(data[: int(len(data) * cut)], id="cut.mp4"))


def test_truncated_webm_yields_the_readable_prefix(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.webm", panned(photo("astronaut"), 60), codec=WEBM_CODEC)
    data = path.read_bytes()
    got = numbers(Item.from_bytes(data[: len(data) // 2], id="half.webm"))
    assert 1 <= len(got) < 6
    assert got == numbers(Item.from_path(path))[: len(got)]
    with pytest.raises(CorruptContent, match=r"head\.webm"):
        numbers(Item.from_bytes(data[:200], id="head.webm"))


@pytest.mark.parametrize("seed", range(6))
def test_damaged_bytes_never_leak_ffmpeg_errors(astronaut_mp4: Path, seed: int) -> None:
    data = bytearray(astronaut_mp4.read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.integers(48, len(data), 300):
        data[i] = int(rng.integers(256))
    try:
        got = numbers(Item.from_bytes(bytes(data), id="damaged.mp4"))
    except ContentError as exc:
        assert str(exc).startswith("damaged.mp4: ")
    else:
        assert all(n % 10 == 0 for n, _ in got)


def test_path_that_vanished_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CorruptContent, match=r"gone\.mp4"):
        numbers(Item.from_path(tmp_path / "gone.mp4"))


def test_abandoned_iteration_closes_the_file(astronaut_mp4: Path) -> None:
    def open_fds_to_video() -> int:
        fd_dir = Path("/proc/self/fd")
        targets = []
        for fd in fd_dir.iterdir():
            try:
                targets.append(str(fd.readlink()))
            except OSError:  # closed between listing and reading
                continue
        return sum(t == str(astronaut_mp4.resolve()) for t in targets)

    before = open_fds_to_video()
    frames = iter_frames(Item.from_path(astronaut_mp4))
    next(frames)
    assert open_fds_to_video() == before + 1  # the file is open while frames are pending
    frames.close()  # GeneratorExit must unwind the container and the file cleanly
    assert open_fds_to_video() == before
