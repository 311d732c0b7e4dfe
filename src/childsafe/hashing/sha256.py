"""The ``sha256`` hasher: SHA-256 of the raw bytes, as python-threatexchange names it."""

from __future__ import annotations

from typing import ClassVar

from childsafe.hashing._digest import DigestHasher


class SHA256Hasher(DigestHasher):
    """SHA-256 of the item's bytes (lower-case hex)."""

    name: ClassVar[str] = "sha256"
    algorithm: ClassVar[str] = "sha256"
