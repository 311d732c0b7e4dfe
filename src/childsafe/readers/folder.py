"""A local folder tree: one item per file, text sidecars attached to their media.

The listing is a sorted, depth-first walk that never follows symlinks (a link could lead
out of the dataset, or loop): a symlink is still an item, with the error "symlink not
followed", so it shows in the results instead of vanishing. Sidecars (``x.txt``,
``x.json``, ``x.cls`` — or ``x.jpg.txt`` — next to an image or video ``x.jpg``) are captions
and metadata of that file, not content of their own; a sidecar with no matching media file
is an ordinary item so nothing is dropped.

Shards are chunks of ``shard_size`` entries of the listing, frozen into ``Shard.members`` at
planning time: a file added mid-scan is not picked up, and one removed becomes an error
item. Shard ids are ``<folder name>-00000``...; item ids ``<shard_id>/<relative path>``, so
they depend on ``shard_size`` — a resumed scan must use the same options.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import ClassVar

from childsafe.content.base import Item, Provenance
from childsafe.errors import SourceError
from childsafe.readers import _paths
from childsafe.readers._meta import SIDECAR_EXTS, attach_sidecars
from childsafe.readers.base import Reader, Shard

MEDIA_EXTS = frozenset(
    {"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "avif"}
    | {"mp4", "m4v", "mov", "webm", "mkv", "avi", "mpg", "mpeg"}
)
MAX_SIDECAR_BYTES = 1 << 20
_SEP = "\0"  # joins a member with its sidecars in Shard.members: never in a file name
_DIR_ERROR = "/"  # suffix marking a directory that could not be listed


def display(name: str) -> str:
    """A name as text: undecodable bytes of a POSIX file name shown as ``\\xNN`` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _walk(root: str, rel: str = "") -> Iterator[str]:
    try:
        with os.scandir(Path(root, rel)) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        yield rel + _DIR_ERROR
        return
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(root, path)
        else:
            yield path


def _group(paths: list[str]) -> list[str]:
    """Members in listing order, each media file joined with its sidecars."""
    media = {p for p in paths if PurePosixPath(p).suffix[1:].lower() in MEDIA_EXTS}
    keys: dict[str, list[str]] = {}
    for p in sorted(media):
        pp = PurePosixPath(p)
        keys.setdefault(str(pp.with_suffix("")), []).append(p)
        keys.setdefault(p, []).append(p)  # x.jpg.txt style
    sidecars: dict[str, list[str]] = {}
    attached: set[str] = set()
    for p in paths:
        pp = PurePosixPath(p)
        if pp.suffix[1:].lower() in SIDECAR_EXTS and p not in media:
            for owner in keys.get(str(pp.with_suffix("")), []):
                sidecars.setdefault(owner, []).append(p)
                attached.add(p)
    return [_SEP.join([p, *sidecars.get(p, [])]) for p in paths if p not in attached]


class FolderReader(Reader):
    """Reads a local folder tree; ``shard_size`` entries per shard."""

    name: ClassVar[str] = "folder"

    def __init__(self, *, shard_size: int = 1000) -> None:
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        self.shard_size = shard_size

    @classmethod
    def sniff(cls, source: str) -> bool:
        return Path(source).is_dir()

    def shards(self, source: str, *, index: int | None = None) -> list[Shard]:
        if not Path(source).is_dir():
            raise SourceError(f"{source}: not a folder")
        if not os.access(source, os.R_OK | os.X_OK):
            raise SourceError(f"{source}: folder is not readable")
        members = _group(list(_walk(source)))
        pre = _paths.prefix(_paths.stem(str(Path(source).absolute())), index)
        return [
            Shard(
                reader=self.name,
                source=source,
                shard_id=f"{pre}-{n:05d}",
                path=source,
                start=start,
                stop=start + len(chunk),
                members=tuple(chunk),
            )
            for n, start in enumerate(range(0, len(members), self.shard_size))
            for chunk in [members[start : start + self.shard_size]]
        ]

    def read(self, shard: Shard) -> Iterator[Item]:
        for entry in shard.members:
            rel, *sidecars = entry.split(_SEP)
            yield self._item(shard, rel, sidecars)

    def _item(self, shard: Shard, rel: str, sidecars: list[str]) -> Item:
        member = display(rel)
        prov = Provenance(source=shard.source, shard=shard.shard_id, member=member)
        item = Item(id=f"{shard.shard_id}/{member}", provenance=prov, follow_symlinks=False)
        full = Path(shard.path, rel)
        if rel.endswith(_DIR_ERROR):
            item.error = f"{member}: folder could not be listed; its files were not scanned"
            return item
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                item.error = f"{member}: symlink not followed"
            elif not stat.S_ISREG(st.st_mode):
                item.error = f"{member}: not a regular file (device, FIFO or socket)"
            else:
                with full.open("rb"):  # readable now; hashers stream it later
                    item.path = full
        except OSError as exc:
            item.error = f"{member}: cannot read: {exc.strerror or exc}"
        if sidecars:
            item.text = attach_sidecars(self._sidecars(shard.path, sidecars, prov), prov)
        return item

    @staticmethod
    def _sidecars(root: str, names: list[str], prov: Provenance) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for rel in names:
            ext = PurePosixPath(rel).suffix[1:].lower()
            full = Path(root, rel)
            try:
                st = os.lstat(full)
                if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SIDECAR_BYTES:
                    raise OSError(f"not a regular file under {MAX_SIDECAR_BYTES} bytes")
                with full.open("rb") as f:
                    out[ext] = f.read(MAX_SIDECAR_BYTES + 1)
            except OSError as exc:
                prov.extra["meta_error"] = f"sidecar {display(rel)} not attached: {exc}"
        return out
