"""``video_md5``: the MD5 of a video file's bytes, as python-threatexchange defines it.

python-threatexchange's ``VideoMD5Signal`` (``threatexchange/signal_type/md5.py``) hashes
the raw file: ``hash_from_file`` feeds the file to ``hashlib.md5`` in blocks and
``hash_from_bytes`` hashes the bytes as they are; there is no decoding, no container
normalisation. So do we, streaming via ``Item.chunks`` so a 2 GiB video never sits in memory.
It is a separate type from ``md5`` only because ThreatExchange keeps video hashes in their
own indicator type (``HASH_VIDEO_MD5``); the values are interchangeable with ``md5`` of the
same file. Any re-encoding changes it, which is why ``vpdq`` exists.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from childsafe.content.base import Item
from childsafe.hashing.base import Hasher
from childsafe.hashing.formats import canonical
from childsafe.types import HashValue


class VideoMD5Hasher(Hasher):
    """MD5 of the file bytes of a video (no decoding: corrupt videos hash too)."""

    name: ClassVar[str] = "video_md5"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"video"})
    exact: ClassVar[bool] = True

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes

    def _compute(self, item: Item) -> HashValue:
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in item.chunks(self.max_bytes):
            digest.update(chunk)
        return HashValue(hash_type=self.name, value=digest.hexdigest())

    def validate(self, value: str) -> str:
        return canonical("video_md5", value)
