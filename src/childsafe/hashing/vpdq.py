"""vPDQ: a PDQ hash of one frame per second, with python-threatexchange's string and matching.

Hashing follows Meta's vpdq library (see :mod:`childsafe.content.video` for the frame
selection, which agrees bit for bit with ``vpdq.computeHash``). The string is what
python-threatexchange's ``VPDQSignal`` stores (``vpdq_util.vpdq_to_json``): a JSON list of
``"<pdq hex>,<quality>,<timestamp>"``, written by ``formats.canonical("vpdq", ...)`` with
three decimals. (threatexchange formats the timestamp with ``:.3``, three *significant*
digits, which turns 123.0 into ``1.23e+02``; both forms parse the same, and ours keeps the
millisecond.)

Matching is python-threatexchange's ``match_VPDQ_hash_brute``: each video's frames are
deduplicated by hash, then frames under quality 50 are dropped; a frame matches when some
frame of the other video is within Hamming distance 31. The *query-match percentage* is the
share of the query's frames that match, the *compared-match percentage* the share of the
other video's frames. threatexchange calls two videos a match when query % >= 80 and
compared % >= 0 (``VPDQ_QUERY_MATCH_THRESHOLD_PERCENT``, ``VPDQ_INDEX_MATCH_THRESHOLD_PERCENT``).

``Hasher.distance`` must be one integer, so it is ``100 - floor(min(query %, compared %))``:
0 means every frame of each video has a twin in the other, 100 that nothing matched.
``floor`` keeps integer thresholds exact (``distance <= 100 - t`` exactly when both
percentages are >= t). Use :func:`vpdq_match` when the two percentages matter separately.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from childsafe.content.base import Item
from childsafe.content.video import DEFAULT_MAX_PIXELS, iter_frames
from childsafe.errors import UnsupportedContent
from childsafe.hashing.base import Hasher
from childsafe.hashing.formats import canonical
from childsafe.hashing.pdq_core import pdq_from_rgb
from childsafe.types import HashValue

PDQ_RADIUS = 31  # threatexchange VPDQ_DISTANCE_THRESHOLD
QUALITY_FLOOR = 50  # threatexchange VPDQ_QUALITY_THRESHOLD
QUERY_MATCH_PERCENT = 80.0  # threatexchange VPDQ_QUERY_MATCH_THRESHOLD_PERCENT
COMPARED_MATCH_PERCENT = 0.0  # threatexchange VPDQ_INDEX_MATCH_THRESHOLD_PERCENT
MIN_FRAME_SIDE = 5  # vpdq refuses to hash frames smaller than 5x5

Words = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class VPDQFrame:
    """One sampled frame: its PDQ hash (hex), PDQ quality (0-100) and time in seconds."""

    pdq: str
    quality: int
    timestamp: float


def parse_vpdq(value: str) -> list[VPDQFrame]:
    """The frames of a vPDQ string; raises ``HashFormatError`` if it is not one."""
    frames = []
    for frame in json.loads(canonical("vpdq", value)):
        pdq, quality, timestamp = frame.split(",")
        frames.append(VPDQFrame(pdq, int(quality), float(timestamp)))
    return frames


def format_vpdq(frames: Sequence[VPDQFrame]) -> str:
    """The canonical vPDQ string of some frames."""
    raw = json.dumps([f"{f.pdq},{f.quality},{f.timestamp}" for f in frames])
    return canonical("vpdq", raw)


def comparable_frames(frames: Sequence[VPDQFrame], quality_floor: int = QUALITY_FLOOR) -> list[str]:
    """The frame hashes that take part in matching, in order: deduplicated, then filtered.

    The order matters in one corner: a hash seen first at low quality and again at high
    quality is dropped, as in threatexchange's ``match_VPDQ_hash_brute``.
    """
    first: dict[str, int] = {}
    for f in frames:
        first.setdefault(f.pdq, f.quality)
    return [pdq for pdq, quality in first.items() if quality >= quality_floor]


def pdq_words(hexes: Sequence[str]) -> Words:
    """PDQ hashes as an ``(n, 4)`` array of 64-bit words, for vectorised Hamming distance."""
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=np.uint64).reshape(len(hexes), 4)


def any_within(a: Words, b: Words, radius: int) -> npt.NDArray[np.bool_]:
    """For each row of ``a``, whether some row of ``b`` is within Hamming ``radius``."""
    out = np.zeros(len(a), dtype=np.bool_)
    if len(a) == 0 or len(b) == 0:
        return out
    step = max(1, (1 << 20) // len(b))  # bound the (step, len(b), 4) temporary
    for start in range(0, len(a), step):
        block = a[start : start + step, None, :] ^ b[None, :, :]
        distances = np.bitwise_count(block).sum(axis=2, dtype=np.int32)
        out[start : start + step] = (distances <= radius).any(axis=1)
    return out


def vpdq_match(
    a: str, b: str, *, pdq_radius: int = PDQ_RADIUS, quality_floor: int = QUALITY_FLOOR
) -> tuple[float, float]:
    """``(query %, compared %)`` of query video ``a`` against video ``b``, as threatexchange.

    Where threatexchange divides by zero (a video with no frame of quality >= the floor),
    the percentage is 0: such a video matches nothing and nothing matches it.
    """
    qa = comparable_frames(parse_vpdq(a), quality_floor)
    qb = comparable_frames(parse_vpdq(b), quality_floor)
    if not qa or not qb:
        return 0.0, 0.0
    wa, wb = pdq_words(qa), pdq_words(qb)
    a_matched = int(any_within(wa, wb, pdq_radius).sum())
    b_matched = int(any_within(wb, wa, pdq_radius).sum())
    return a_matched * 100 / len(qa), b_matched * 100 / len(qb)


def match_distance(query_percent: float, compared_percent: float) -> int:
    """The integer distance of two match percentages: ``100 - floor(min(...))``."""
    return 100 - math.floor(min(query_percent, compared_percent))


class VPDQHasher(Hasher):
    """vPDQ of a video; see the module docstring for the format and the distance.

    Configuration mirrors ``vpdq.computeHash`` (``seconds_per_frame``) plus the decoding
    limits of :func:`childsafe.content.video.iter_frames`, and the matching parameters
    used by :meth:`distance`.
    """

    name: ClassVar[str] = "vpdq"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"video"})
    exact: ClassVar[bool] = False

    def __init__(
        self,
        *,
        seconds_per_frame: float = 1.0,
        max_seconds: float = 3 * 3600,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        pdq_radius: int = PDQ_RADIUS,
        quality_floor: int = QUALITY_FLOOR,
    ) -> None:
        self.seconds_per_frame = seconds_per_frame
        self.max_seconds = max_seconds
        self.max_pixels = max_pixels
        self.pdq_radius = pdq_radius
        self.quality_floor = quality_floor

    def _compute(self, item: Item) -> HashValue:
        frames = []
        for _, timestamp, rgb in iter_frames(
            item,
            seconds_per_frame=self.seconds_per_frame,
            max_seconds=self.max_seconds,
            max_pixels=self.max_pixels,
        ):
            height, width = rgb.shape[:2]
            if min(height, width) < MIN_FRAME_SIDE:
                raise UnsupportedContent(
                    f"{item.id}: {width}x{height} frames are under PDQ's "
                    f"{MIN_FRAME_SIDE}x{MIN_FRAME_SIDE} minimum"
                )
            pdq, quality = pdq_from_rgb(rgb)
            frames.append(VPDQFrame(pdq, quality, timestamp))
        return HashValue(hash_type=self.name, value=format_vpdq(frames))

    def validate(self, value: str) -> str:
        return canonical("vpdq", value)

    def distance(self, a: str, b: str) -> int:
        """``100 - floor(min(query %, compared %))`` with this hasher's radius and floor."""
        query, compared = vpdq_match(
            a, b, pdq_radius=self.pdq_radius, quality_floor=self.quality_floor
        )
        return match_distance(query, compared)
