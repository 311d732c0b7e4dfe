"""Small value objects shared by every layer.

Hash type names are storage keys and follow python-threatexchange (STYLE 5): never rename one
once data is stored under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class HashType(StrEnum):
    """The hash types childsafe computes and matches; values are python-threatexchange names."""

    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    PDQ = "pdq"
    VIDEO_MD5 = "video_md5"
    VPDQ = "vpdq"

    @property
    def is_exact(self) -> bool:
        """Exact (cryptographic) hashes match by equality; the others by distance."""
        return self in _EXACT


_EXACT = frozenset({HashType.MD5, HashType.SHA1, HashType.SHA256, HashType.VIDEO_MD5})


@dataclass(frozen=True, slots=True)
class HashValue:
    """One computed hash: its type, its canonical string and, for PDQ, its quality (0-100).

    ``variants`` are query-side alternates of the same content (PDQ's dihedral flips and
    rotations, the hash with uniform borders trimmed): a matcher queries them all so a
    mirrored or letterboxed copy still matches. They are never stored in a bank.
    """

    hash_type: str
    value: str
    quality: int | None = None
    variants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """One bank entry that a query matched.

    ``value`` is the bank entry's hash (not the query's); ``distance`` is 0 for exact hashes.
    """

    bank: str
    hash_type: str
    value: str
    distance: int
    entry_id: int
    label: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class FileHashes:
    """Every hash of one file, or the reason there are none.

    ``errors`` maps a hash type to the reason that one hasher failed (a text file has no pdq,
    for instance) while ``error`` is set only when the file itself could not be read.
    """

    path: str
    hashes: dict[str, HashValue] = field(default_factory=dict)
    error: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, hash_type: str) -> str | None:
        """The hash string of one type, or None."""
        hv = self.hashes.get(hash_type)
        return hv.value if hv else None
