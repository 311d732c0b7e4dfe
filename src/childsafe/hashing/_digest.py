"""Cryptographic digests (md5, sha1, sha256) over the raw bytes of any item.

One base class carries the whole behaviour; ``md5.py``, ``sha1.py`` and ``sha256.py`` only name
an algorithm, so each built-in stays a module the registry can point at (STYLE 4, 7).

Digests stream over :meth:`Item.chunks` and never hold a big file in memory.
:func:`digest_many` feeds several digests from one read, which is how ``hash_file`` reads a
file once however many digests are asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import ClassVar

from childsafe.content.base import Item
from childsafe.hashing.base import Hasher
from childsafe.hashing.formats import canonical
from childsafe.types import HashValue


class DigestHasher(Hasher):
    """A hashlib digest of the item's bytes; applies to every kind of content.

    ``max_bytes`` refuses items over that size with ``ContentTooLarge`` before reading.
    """

    algorithm: ClassVar[str]
    kinds: ClassVar[frozenset[str] | None] = None
    exact: ClassVar[bool] = True

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes

    def new(self) -> hashlib._Hash:
        """A fresh hashlib object (``usedforsecurity=False``: these are identifiers)."""
        return hashlib.new(self.algorithm, usedforsecurity=False)

    def _compute(self, item: Item) -> HashValue:
        return digest_many(item, [self], self.max_bytes)[self.name]

    def validate(self, value: str) -> str:
        return canonical(self.name, value)


def digest_many(
    item: Item, hashers: Sequence[DigestHasher], max_bytes: int | None = None
) -> dict[str, HashValue]:
    """Every digest in ``hashers`` from a single read of ``item``."""
    states = [(h.name, h.new()) for h in hashers]
    if item.data is not None and max_bytes is None:
        for _, state in states:
            state.update(item.data)  # hashlib releases the GIL and needs no chunk copies
    else:
        for chunk in item.chunks(max_bytes):
            for _, state in states:
                state.update(chunk)
    return {name: HashValue(name, state.hexdigest()) for name, state in states}
