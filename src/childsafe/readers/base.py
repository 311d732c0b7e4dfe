"""The ``Reader`` kind: turns a dataset source into shards, and a shard into items.

A *shard* is the unit of work an executor schedules, retries and resumes: a WebDataset tar,
a Parquet row group range, a slice of a folder's sorted file list. Readers make the shard
list cheaply and deterministically (the same source gives the same shards in the same order),
so a resumed scan can tell which shards are done and two executors produce identical outputs.

The contract every reader keeps (checked by ``childsafe.readers.testing``): every member of a
shard yields **exactly one** ``Item`` — one it could not read still yields an item with
``error`` set, so nothing is silently dropped; item ids are unique within the scan and stable
across runs; provenance names the source, the shard and the member or row.

Ids. A shard id is ``<prefix>-<nnnnn>``: the prefix is a file-name-safe slug of the source's
(or the shard file's) stem, and when a scan reads several sources it passes each one's
position as ``index``, which leads the id (``1_photos-00000``) so two sources with the same
stem never collide. Item ids are ``<shard_id>/<member>`` for folders and archives, and
``<prefix>/<id column value>`` or ``<shard_id>#<row>`` for tables. Both are stable across
runs for the same sources, in the same order, with the same reader options.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from childsafe.content.base import Item


@dataclass(frozen=True, slots=True)
class Shard:
    """One unit of work: cheap to pickle, stable across runs.

    ``shard_id`` is unique within a scan and safe as a file name; ``start``/``stop`` select a
    range (rows of a table, entries of a folder listing) where the reader splits one file or
    folder into several shards. ``members`` freezes a folder shard's listing at planning time,
    so a file added or removed mid-scan cannot shift other shards' items.
    """

    reader: str
    source: str
    shard_id: str
    path: str
    start: int = 0
    stop: int | None = None
    members: tuple[str, ...] = ()


class Reader(ABC):
    """Base class of dataset readers. Instances carry their options (columns, shard size)."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def sniff(cls, source: str) -> bool:
        """Whether this reader handles ``source`` (a path, glob or brace pattern)."""

    @abstractmethod
    def shards(self, source: str, *, index: int | None = None) -> list[Shard]:
        """The shards of ``source``, in a stable order; raises ``SourceError`` if unreadable.

        ``index`` is the source's position among the scan's sources; pass it whenever a scan
        has more than one source, so shard ids stay unique across them.
        """

    @abstractmethod
    def read(self, shard: Shard) -> Iterator[Item]:
        """Every item of ``shard``, one per member, errors included; never raises per item."""
