"""The ``Index`` kind: the fast matcher over the hashes of one type.

``Hasher.distance`` is the readable reference; an index is the fast path and is tested
against it (STYLE 6). Entries are identified by integer ids (bank entry ids), so an index
holds no metadata and can be saved as flat arrays and memory-mapped back in milliseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self


class Index(ABC):
    """Maps hash strings to entry ids; ``query`` returns every entry within ``radius``."""

    hash_type: ClassVar[str]

    @abstractmethod
    def add(self, values: Sequence[str], ids: Sequence[int]) -> None:
        """Add entries (canonical hash strings and their ids); incremental, no rebuild."""

    @abstractmethod
    def remove(self, ids: Sequence[int]) -> int:
        """Remove entries by id; returns how many were present. Incremental, no rebuild."""

    @abstractmethod
    def query(self, values: Sequence[str], radius: int = 0) -> list[list[tuple[int, int]]]:
        """For each query, every ``(entry_id, distance)`` within ``radius``, nearest first."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` (a directory) atomically."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path) -> Self:
        """Load an index written by :meth:`save`; raises ``IndexError_`` if damaged."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of live entries."""

    @classmethod
    def build(cls, values: Sequence[str], ids: Sequence[int]) -> Self:
        """A new index holding these entries."""
        index = cls()
        index.add(values, ids)
        return index
