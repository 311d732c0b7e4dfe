"""WebDataset tar shards: a path, a glob (``data/*.tar``) or brace ranges, one shard per tar.

Members are grouped by WebDataset key (the path up to the first dot of the basename:
``a/000001.jpg`` and ``a/000001.txt`` share key ``a/000001``). Each media member of a group
is an item; its ``.txt`` caption, ``.json`` metadata (url, caption, licence, crawl date) and
``.cls`` label are attached to it, not scanned as items. A group with only sidecars is one
item (its first sidecar), so nothing is dropped.

Hostile tars are handled by :mod:`childsafe.readers._tarwalk`: every refused member (link,
device, unsafe name, over ``max_member_bytes``, truncated data) is an error item of its
own, never attached to a group, and every damaged region is one error item with id
``<shard_id>/@<byte offset>``. Item ids are ``<shard_id>/<member name>``; a name that occurs
twice in one tar (legal, and a way to hide content) gets ``@<header offset>`` on the repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from childsafe.content.base import Item, Provenance
from childsafe.readers import _paths
from childsafe.readers._meta import SIDECAR_EXTS, attach_sidecars
from childsafe.readers._tarwalk import Entry, walk
from childsafe.readers.base import Reader, Shard

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
DEFAULT_MAX_MEMBER_BYTES = 256 << 20


def split_key(name: str) -> tuple[str, str]:
    """WebDataset ``(key, extension)``: the basename splits at its first dot."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext.lower() if dot else ""


class WebDatasetReader(Reader):
    """Reads WebDataset tar (and ``.tar.gz``) shards, streaming, without extracting."""

    name: ClassVar[str] = "webdataset"

    def __init__(self, *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> None:
        self.max_member_bytes = max_member_bytes

    @classmethod
    def sniff(cls, source: str) -> bool:
        return source.lower().endswith(TAR_SUFFIXES)

    def shards(self, source: str, *, index: int | None = None) -> list[Shard]:
        files = _paths.expand_files(source)
        return [
            Shard(reader=self.name, source=source, shard_id=sid, path=path)
            for path, sid in zip(files, _paths.unique_slugs(files, index), strict=True)
        ]

    def read(self, shard: Shard) -> Iterator[Item]:
        seen: set[str] = set()
        group: list[Entry] = []
        for entry in walk(shard.path, self.max_member_bytes):
            key = split_key(entry.name)[0] if entry.name is not None else None
            if group and (key is None or split_key(group[0].name or "")[0] != key):
                yield from self._flush(shard, group, seen)
                group = []
            if entry.name is None:  # a damaged region: no key, no group
                yield self._error_item(shard, entry, seen)
            else:
                group.append(entry)
        yield from self._flush(shard, group, seen)

    def _provenance(self, shard: Shard, entry: Entry) -> Provenance:
        prov = Provenance(source=shard.source, shard=shard.shard_id, member=entry.name)
        if entry.recovered:
            prov.extra["recovered"] = "found by resynchronising after a damaged region"
        return prov

    @staticmethod
    def _unique(item_id: str, entry: Entry, seen: set[str]) -> str:
        if item_id in seen:
            item_id = f"{item_id}@{entry.offset}"
        seen.add(item_id)
        return item_id

    def _error_item(self, shard: Shard, entry: Entry, seen: set[str]) -> Item:
        prov = self._provenance(shard, entry)
        member = entry.name if entry.name is not None else f"@{entry.offset}"
        if entry.name is None:
            prov.extra["offset"] = str(entry.offset)
        item_id = self._unique(f"{shard.shard_id}/{member}", entry, seen)
        where = f"{Path(shard.path).name}: {member}"
        return Item(id=item_id, provenance=prov, error=f"{where}: {entry.error}")

    def _flush(self, shard: Shard, group: list[Entry], seen: set[str]) -> Iterator[Item]:
        """Items of one key, in archive order; refused members are error items of their own."""
        sidecars: dict[str, bytes] = {}
        media: list[Entry] = []
        for entry in group:
            ext = split_key(entry.name or "")[1]
            if entry.error is None and ext in SIDECAR_EXTS and ext not in sidecars:
                sidecars[ext] = entry.data or b""
            else:
                media.append(entry)
        if sidecars and not any(e.error is None for e in media):
            media.append(next(e for e in group if e.error is None))  # first sidecar stands in
        chosen = {id(e) for e in media}
        for entry in group:
            if id(entry) not in chosen:
                continue
            if entry.error is not None:
                yield self._error_item(shard, entry, seen)
                continue
            prov = self._provenance(shard, entry)
            item_id = self._unique(f"{shard.shard_id}/{entry.name}", entry, seen)
            item = Item.from_bytes(entry.data or b"", id=item_id, provenance=prov)
            item.text = attach_sidecars(sidecars, prov) if sidecars else None
            yield item
