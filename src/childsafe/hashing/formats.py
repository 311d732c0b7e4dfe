"""Canonical string forms of every hash type, as python-threatexchange writes them.

Kept apart from the hashers so that bank import can validate a million lines without
building hashers, and so the rules live in one place: lower-case hex of a fixed length for
digests and PDQ (64 hex chars = 256 bits), and for vPDQ the JSON list of
``"<pdq hex>,<quality>,<timestamp>"`` strings that python-threatexchange's vpdq extension uses.
"""

from __future__ import annotations

import json
import math
import re

from childsafe.errors import HashFormatError

HEX_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64, "video_md5": 32}
_HEX = re.compile(r"[0-9a-f]+")


def canonical(hash_type: str, value: str) -> str:
    """Return the canonical form of ``value`` or raise ``HashFormatError`` saying why."""
    if hash_type in HEX_LENGTHS:
        v = value.strip().lower()
        want = HEX_LENGTHS[hash_type]
        if len(v) != want or not _HEX.fullmatch(v):
            shown = value if len(value) <= 80 else value[:77] + "..."
            raise HashFormatError(f"not a {hash_type} hash (want {want} hex characters): {shown!r}")
        return v
    if hash_type == "vpdq":
        return _canonical_vpdq(value)
    raise HashFormatError(f"unknown hash type {hash_type!r}")


def _canonical_vpdq(value: str) -> str:
    try:
        frames = json.loads(value)
    except json.JSONDecodeError as exc:
        raise HashFormatError(f"not a vpdq hash (want a JSON list): {exc.msg}") from None
    if not isinstance(frames, list):
        raise HashFormatError("not a vpdq hash (want a JSON list of frame strings)")
    out = []
    for i, frame in enumerate(frames):
        parts = frame.split(",") if isinstance(frame, str) else []
        if len(parts) != 3:
            raise HashFormatError(f"vpdq frame {i}: want 'pdq_hex,quality,timestamp'")
        pdq = canonical("pdq", parts[0])
        try:
            quality = int(parts[1])
            ts = float(parts[2])
        except ValueError:
            raise HashFormatError(
                f"vpdq frame {i}: quality and timestamp must be numbers"
            ) from None
        if not 0 <= quality <= 100 or not math.isfinite(ts) or ts < 0:
            raise HashFormatError(f"vpdq frame {i}: quality 0-100 and timestamp >= 0 expected")
        out.append(f"{pdq},{quality},{ts:.3f}")
    return json.dumps(out)


def guess_type(value: str) -> str | None:
    """The only hash type a bare hex string can be, or None when ambiguous or invalid.

    64 hex characters could be pdq or sha256, so those need ``--type``.
    """
    v = value.strip().lower()
    if not _HEX.fullmatch(v):
        return None
    return {32: "md5", 40: "sha1"}.get(len(v))
