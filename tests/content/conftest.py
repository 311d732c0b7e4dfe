"""Benign test videos, generated with PyAV: scikit-image photos panned and zoomed, gradients.

The helpers are plain functions so the hashing and matching tests can load this module too
(see ``load_videogen`` there); the fixtures below serve ``tests/content``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data

MP4_CODEC = "libx264" if "libx264" in av.codecs_available else "mpeg4"
WEBM_CODEC = "libvpx-vp9" if "libvpx-vp9" in av.codecs_available else "libvpx"


@functools.cache
def photo(name: str = "astronaut") -> np.ndarray:
    """One of scikit-image's bundled RGB photos."""
    return np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])


def panned(image: np.ndarray, n: int, size: tuple[int, int] = (320, 240)) -> Iterator[np.ndarray]:
    """``n`` frames of a camera panning across and zooming into ``image``."""
    from PIL import Image

    height, width = image.shape[:2]
    pil = Image.fromarray(image)
    for i in range(n):
        t = i / max(1, n - 1)
        scale = 0.9 - 0.4 * t  # zoom in while panning
        cw, ch = int(width * scale), int(height * scale)
        x = int((width - cw) * t)
        y = int((height - ch) * (0.5 + 0.5 * np.sin(3 * t)) / 1.0) if height > ch else 0
        y = min(max(0, y), height - ch)
        yield np.asarray(pil.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BILINEAR))


def gradient(n: int, size: tuple[int, int] = (320, 240)) -> Iterator[np.ndarray]:
    """``n`` frames of moving colour gradients."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    for i in range(n):
        yield np.stack([(x + 5 * i) % 256, (y + 3 * i) % 256, (x + y + i) % 256], -1).astype(
            np.uint8
        )


def write_video(
    path: Path,
    frames: Iterator[np.ndarray] | list[np.ndarray],
    *,
    codec: str = MP4_CODEC,
    fps: int | Fraction = 10,
    bit_rate: int | None = None,
    size: tuple[int, int] | None = None,
    audio: bool = False,
) -> Path:
    """Encode RGB frames into ``path`` (container from the suffix); returns ``path``."""
    with av.open(str(path), "w") as out:
        # Fast encoder settings: the tests need valid streams, not pretty ones.
        fast = {"deadline": "realtime", "cpu-used": "8"} if "vpx" in codec else {}
        stream = out.add_stream(codec, rate=fps, options=fast)
        first = True
        audio_stream = out.add_stream("aac", rate=8000) if audio else None
        for frame in frames:
            if first:
                h, w = frame.shape[:2]
                stream.width, stream.height = size or (w, h)
                stream.pix_fmt = "yuv420p"
                if bit_rate:
                    stream.bit_rate = bit_rate
                first = False
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if size:
                vf = vf.reformat(width=size[0], height=size[1])
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
        if audio_stream is not None:
            _write_silence(out, audio_stream)
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An AAC-in-MP4 file with no video track."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        _write_silence(out, stream, seconds)
    return path


def _write_silence(
    out: av.container.OutputContainer, stream: av.AudioStream, seconds: float = 1.0
) -> None:
    for i in range(int(seconds * 8000 / 1024) + 1):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        frame.pts = i * 1024
        frame.time_base = Fraction(1, 8000)
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def reencode(src: Path, dst: Path, *, codec: str, bit_rate: int, size: tuple[int, int]) -> Path:
    """Decode ``src`` and encode it again at another bit rate and size."""
    with av.open(str(src)) as inp:
        rgb = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    return write_video(dst, rgb, codec=codec, bit_rate=bit_rate, size=size)


@pytest.fixture(scope="session")
def astronaut_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 10 fps of a pan across the astronaut photo, H.264 in MP4."""
    path = tmp_path_factory.mktemp("video") / "astronaut.mp4"
    return write_video(path, panned(photo("astronaut"), 60))
