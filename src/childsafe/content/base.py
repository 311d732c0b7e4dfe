"""An ``Item`` is one piece of content with a stable id and where it came from.

Items carry either a path (read lazily, streamed) or bytes already in memory, never both: a
scan over a tar shard hands bytes, a folder scan hands paths. Provenance travels with the item
so every finding can say where it came from (reports without a data source are not actionable).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from childsafe.errors import ContentTooLarge, CorruptContent, UnsupportedContent

CHUNK = 1 << 20

# Magic numbers for the kinds we decode; extensions lie, headers rarely do.
_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
)
_VIDEO_EXT = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg"})


def detect_kind(head: bytes, name: str = "") -> str:
    """Guess ``image``, ``video`` or ``other`` from the first bytes (and the name for video)."""
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3"):  # ISO BMFF, Matroska/WebM
        return "video"
    if Path(name).suffix.lower() in _VIDEO_EXT:
        return "video"
    return "other"


@dataclass(slots=True)
class Provenance:
    """Where an item came from: enough for a report to name the data source."""

    source: str
    shard: str | None = None
    member: str | None = None
    row: int | None = None
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Item:
    """One piece of content: :meth:`from_path`, :meth:`from_bytes` or :meth:`from_hashes`.

    ``text`` carries a caption or sidecar text that travels with the content. ``hashes`` holds
    hashes a dataset already computed (a LAION-style table): they are matched as they are, with
    no content at all (the Re-LAION method). ``error`` is set by a reader that could not produce
    the content (a truncated tar member, a path-traversal name): the item still becomes an
    output row, with that reason, so nothing is silently dropped.
    """

    id: str
    path: Path | None = None
    data: bytes | None = None
    provenance: Provenance | None = None
    text: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    follow_symlinks: bool = True
    _head: bytes | None = field(default=None, repr=False)

    @property
    def has_content(self) -> bool:
        """Whether there are bytes to hash (a hashes-only row has none)."""
        return self.path is not None or self.data is not None

    @classmethod
    def from_path(cls, path: str | Path, *, id: str | None = None) -> Item:
        p = Path(path)
        return cls(id=id or str(p), path=p, provenance=Provenance(source=str(p)))

    @classmethod
    def from_bytes(cls, data: bytes, *, id: str, provenance: Provenance | None = None) -> Item:
        return cls(id=id, data=data, provenance=provenance or Provenance(source=id))

    @classmethod
    def from_hashes(
        cls,
        hashes: dict[str, str],
        *,
        id: str,
        provenance: Provenance | None = None,
        text: str | None = None,
    ) -> Item:
        """An item known only by hashes computed elsewhere."""
        return cls(id=id, hashes=dict(hashes), provenance=provenance, text=text)

    def size(self) -> int:
        """Size in bytes; raises ``CorruptContent`` for unreadable paths."""
        if self.data is not None:
            return len(self.data)
        if self.path is None:
            raise UnsupportedContent(f"{self.id}: no content (hashes only)")
        try:
            st = self.path.stat()
        except OSError as exc:
            raise CorruptContent(f"{self.id}: cannot read: {exc.strerror or exc}") from exc
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or device reports size 0 and may block a reader forever: refuse it.
            raise UnsupportedContent(f"{self.id}: not a regular file (FIFO, device or socket)")
        return st.st_size

    def open(self) -> BinaryIO:
        """A binary stream over the content; the caller closes it."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            raise UnsupportedContent(f"{self.id}: no content (hashes only)")
        try:
            if self.follow_symlinks:
                return self.path.open("rb")
            # Dataset readers refuse links when planning; opening without following closes
            # the race where a file is swapped for a link between planning and reading.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            return os.fdopen(fd, "rb")
        except OSError as exc:
            raise CorruptContent(f"{self.id}: cannot read: {exc.strerror or exc}") from exc

    def head(self, n: int = 32) -> bytes:
        """The first bytes, for format sniffing (cached)."""
        if self._head is None:
            with self.open() as f:
                self._head = f.read(64)
        return self._head[:n]

    def kind(self) -> str:
        """``image``, ``video`` or ``other`` by content sniffing."""
        return detect_kind(self.head(32), self.path.name if self.path else self.id)

    def chunks(self, max_bytes: int | None = None) -> Iterator[bytes]:
        """Stream the content in 1 MiB chunks, refusing items over ``max_bytes``."""
        if max_bytes is not None and self.size() > max_bytes:
            raise ContentTooLarge(
                f"{self.id}: {self.size()} bytes is over the {max_bytes}-byte limit"
            )
        if self.data is not None:
            view = memoryview(self.data)
            for i in range(0, len(view), CHUNK):
                yield bytes(view[i : i + CHUNK])
            return
        with self.open() as f:
            while chunk := f.read(CHUNK):
                yield chunk
