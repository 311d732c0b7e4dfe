"""The ``sha1`` hasher: SHA-1 of the raw bytes, as python-threatexchange names it."""

from __future__ import annotations

from typing import ClassVar

from childsafe.hashing._digest import DigestHasher


class SHA1Hasher(DigestHasher):
    """SHA-1 of the item's bytes (lower-case hex)."""

    name: ClassVar[str] = "sha1"
    algorithm: ClassVar[str] = "sha1"
