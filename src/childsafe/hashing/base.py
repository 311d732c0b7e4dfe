"""The ``Hasher`` kind: turns an item into a hash string.

A hasher is an instance (it may carry configuration), has a stable ``name`` that is also the
storage key (python-threatexchange spelling, STYLE 5), and implements one hook, ``_compute``.
``distance`` is the readable reference used to test the fast ``Index`` implementations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from childsafe.content.base import Item
from childsafe.errors import UnsupportedContent
from childsafe.types import HashValue


class Hasher(ABC):
    """Base class of every hasher.

    ``kinds`` lists the content kinds (``image``, ``video``, ``other``) the hasher applies to;
    ``None`` means any content (cryptographic digests). ``exact`` hashers match by equality.
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str] | None] = None
    exact: ClassVar[bool] = True

    def applies_to(self, item: Item) -> bool:
        """Whether this hasher can hash ``item`` (by content sniffing, not file name)."""
        return self.kinds is None or item.kind() in self.kinds

    def hash_item(self, item: Item) -> HashValue:
        """Hash one item; raises a ``ContentError`` naming the item when it cannot."""
        if not self.applies_to(item):
            raise UnsupportedContent(f"{item.id}: not content {self.name} can hash ({item.kind()})")
        return self._compute(item)

    @abstractmethod
    def _compute(self, item: Item) -> HashValue:
        """The one hook: compute the hash of an item this hasher applies to."""

    @abstractmethod
    def validate(self, value: str) -> str:
        """Return the canonical form of a hash string or raise ``HashFormatError``."""

    def distance(self, a: str, b: str) -> int:
        """Reference distance between two canonical hash strings (0 = identical)."""
        return 0 if a == b else 1
