"""Safe frame sampling from video files, the way Meta's vPDQ samples them.

vPDQ (facebook/ThreatExchange ``vpdq/cpp/vpdq/cpp/hashing/filehasher.cpp``) decodes *every*
frame of the first video stream, numbers them in decoder output order from 0, and hashes frame
``n`` when ``n % int(seconds_per_hash * fps) == 0`` (a modulus of 0 becomes 1), where ``fps``
is the stream's average frame rate, falling back to its real base rate. The timestamp it
stores is ``float32(n) / float32(fps)``, not the frame's presentation time. Frames are
converted to RGB24 at the stream's own width and height (no downscaling by default; PDQ does
its own 64x64 reduction) with swscale's area filter. :func:`iter_frames` reproduces exactly
this, so hashes computed here agree bit for bit with ``vpdq.computeHash``.

Hostile input is the normal case for a child-safety scanner, so decoding is fenced in:

- the container is opened from a Python file object, never a path string, so FFmpeg never
  interprets a file name as a URL or protocol, and only the demuxers in ``DEMUXERS`` may
  run (no playlists, concat lists or image pipes that could open other files);
- frame size (``max_pixels``), decoded frames (``max_frames``) and covered time
  (``max_seconds``) are bounded, and the input itself is bounded by its size, so decoding
  always ends;
- every FFmpeg error becomes a ``ContentError`` naming the item.

Where vPDQ gives up on the first undecodable packet, we skip bad packets (up to
``_MAX_BAD_PACKETS``) and treat a damaged or truncated tail as the end of the video: a
player shows such files, so an uploader must not be able to dodge matching by flipping a
few bytes. A file that yields no frame at all is ``CorruptContent``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import av
import av.container
import numpy as np
import numpy.typing as npt

from childsafe.content.base import Item
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent, UnsupportedContent

# Demuxers allowed to open an item (FFmpeg ``format_whitelist``): ordinary single-file
# video containers only.
DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "mpeg",
    "mpegts",
    "flv",
    "asf",
    "ogg",
)
DEFAULT_MAX_PIXELS = 8192 * 4320  # 8K; a larger frame is a decompression bomb, not a video
DEFAULT_MAX_FRAMES = 1_500_000  # decoded frames: 3 hours at 120 fps, then we stop trusting it
_MAX_BAD_PACKETS = 100

RGBFrame = npt.NDArray[np.uint8]


def iter_frames(
    item: Item,
    *,
    seconds_per_frame: float = 1.0,
    max_seconds: float = 3 * 3600,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> Iterator[tuple[int, float, RGBFrame]]:
    """Yield ``(frame_number, timestamp_seconds, rgb)`` for one frame per ``seconds_per_frame``.

    ``seconds_per_frame=0`` yields every frame (as vPDQ does). Sampling stops once the
    timestamp passes ``max_seconds`` (the hash then covers the first ``max_seconds``, which
    still matches copies of that part). More than ``max_frames`` decoded frames or a frame
    over ``max_pixels`` raise ``ContentTooLarge``; unreadable input raises
    ``CorruptContent``, input that is not a video ``UnsupportedContent``.
    """
    if seconds_per_frame < 0:
        raise ValueError("seconds_per_frame must be >= 0")
    if item.size() == 0:
        raise CorruptContent(f"{item.id}: empty file (0 bytes)")
    with item.open() as stream:
        try:
            yield from _decode(item, stream, seconds_per_frame, max_seconds, max_pixels, max_frames)
        except ContentError:
            raise
        except (av.FFmpegError, AttributeError, ValueError, OverflowError) as exc:
            # Hostile containers reach corners of PyAV that fail in ways we cannot list in
            # advance; whatever they are, the item is unreadable and the batch goes on.
            raise CorruptContent(f"{item.id}: unreadable video ({type(exc).__name__})") from None


def _open(item: Item, stream: BinaryIO) -> av.container.InputContainer:
    try:
        return av.open(stream, mode="r", options={"format_whitelist": ",".join(DEMUXERS)})
    except av.error.ArgumentError:  # EINVAL: probed as a format not on the whitelist
        raise UnsupportedContent(f"{item.id}: not a supported video container") from None
    except av.FFmpegError as exc:
        raise CorruptContent(f"{item.id}: not a readable video file ({_reason(exc)})") from None


def _decode(
    item: Item,
    stream: BinaryIO,
    seconds_per_frame: float,
    max_seconds: float,
    max_pixels: int,
    max_frames: int,
) -> Iterator[tuple[int, float, RGBFrame]]:
    with _open(item, stream) as container:
        if not container.streams.video:
            raise UnsupportedContent(f"{item.id}: no video stream ({container.format.name})")
        video = container.streams.video[0]
        if video.codec_context is None:
            raise UnsupportedContent(f"{item.id}: no decoder for this video codec")
        width, height = video.codec_context.width, video.codec_context.height
        if width <= 0 or height <= 0:
            raise CorruptContent(f"{item.id}: video stream has no frame size")
        if width * height > max_pixels:
            raise ContentTooLarge(
                f"{item.id}: {width}x{height} frames are over the {max_pixels}-pixel limit"
            )
        rate = video.average_rate or video.base_rate
        fps = float(rate) if rate else 0.0
        if not fps > 0:
            raise CorruptContent(f"{item.id}: video stream has no frame rate")
        modulus = max(1, int(seconds_per_frame * fps))
        video.thread_type = "AUTO"

        number = 0  # vPDQ's frame number: decoder output order, from 0
        bad_packets = 0
        packets = container.demux(video)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as exc:  # damaged container: the tail is unreadable
                if number == 0:
                    raise CorruptContent(f"{item.id}: unreadable video ({_reason(exc)})") from None
                break
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                bad_packets += 1
                if bad_packets > _MAX_BAD_PACKETS:
                    raise CorruptContent(
                        f"{item.id}: too many undecodable packets ({_reason(exc)})"
                    ) from None
                continue
            for frame in frames:
                if not isinstance(frame, av.VideoFrame):
                    continue
                if number >= max_frames:
                    raise ContentTooLarge(f"{item.id}: more than {max_frames} frames")
                if frame.width * frame.height > max_pixels:
                    raise ContentTooLarge(
                        f"{item.id}: frame {number} is {frame.width}x{frame.height}, "
                        f"over the {max_pixels}-pixel limit"
                    )
                # vPDQ computes timestamps in single precision; so do we, to agree to the ms.
                timestamp = float(np.float32(number) / np.float32(fps))
                if timestamp > max_seconds:
                    return
                if number % modulus == 0:
                    rgb = np.asarray(
                        frame.to_ndarray(
                            format="rgb24", width=width, height=height, interpolation="AREA"
                        ),
                        dtype=np.uint8,
                    )
                    yield number, timestamp, rgb
                number += 1
        if number == 0:
            raise CorruptContent(f"{item.id}: no decodable video frames")


def _reason(exc: av.FFmpegError) -> str:
    """FFmpeg's message without the file name part PyAV appends (``'<none>'`` for streams)."""
    return str(exc.strerror or type(exc).__name__).rstrip(".").lower()
