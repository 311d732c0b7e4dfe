"""The ``md5`` hasher: MD5 of the raw bytes, as python-threatexchange names it."""

from __future__ import annotations

from typing import ClassVar

from childsafe.hashing._digest import DigestHasher


class MD5Hasher(DigestHasher):
    """MD5 of the item's bytes (lower-case hex)."""

    name: ClassVar[str] = "md5"
    algorithm: ClassVar[str] = "md5"
