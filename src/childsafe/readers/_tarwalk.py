"""Walk a possibly hostile tar archive member by member, never extracting, never raising.

``tarfile`` alone is not enough for untrusted shards: at a corrupt header in mid-archive it
returns ``None`` exactly as at a clean end, so a damaged shard would look short but fine.
This walker tells the endings apart (end-of-archive block, file ending without one, corrupt
or truncated header, member data past the end) and reports each damage as an :class:`Entry`
with an error. After damage it searches forward, block-aligned, for the next valid header
(``ustar`` magic and a good checksum) and resumes there, so one bad region costs one error
entry instead of the rest of the shard; members found that way are marked ``recovered``.
Truncation costs exactly one entry: the cut point, saying that any later members are lost.

Members are read into memory one at a time, only if regular and under ``max_bytes``; links,
devices and names that could escape a directory (``/etc/x``, ``../x``, ``C:x``) are entries
with errors and are never read or followed. Gzip-compressed archives are read through a
``GzipFile`` (forward seeks only); damage inside the compressed stream ends the walk.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK = tarfile.BLOCKSIZE
_DRIVE = re.compile(r"^[A-Za-z]:")
_FATAL = (EOFError, zlib.error, gzip.BadGzipFile)  # the compressed stream itself is broken


@dataclass(slots=True)
class Entry:
    """One tar member (``name`` set) or one damaged region (``name`` is None)."""

    name: str | None
    offset: int
    data: bytes | None = None
    error: str | None = None
    recovered: bool = False


def display(name: str) -> str:
    """A member name as text: undecodable bytes shown as ``\\xNN`` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _refusal(info: tarfile.TarInfo, max_bytes: int) -> str | None:
    parts = info.name.replace("\\", "/").split("/")
    if info.name.startswith(("/", "\\")) or _DRIVE.match(info.name) or ".." in parts:
        return "unsafe member name (absolute or parent path): not read"
    if info.issym() or info.islnk():
        kind = "symlink" if info.issym() else "hardlink"
        return f"{kind} member not followed (-> {display(info.linkname)})"
    if not info.isreg():
        return "device, FIFO or other special member: not content"
    if info.size > max_bytes:
        return f"declared size {info.size} bytes is over the {max_bytes}-byte limit: not read"
    return None


def _why_stopped(f: BinaryIO, offset: int) -> str | None:
    """Why ``tarfile`` found no member at ``offset``: None for a clean end-of-archive."""
    f.seek(offset)
    block = f.read(BLOCK)
    if not block:
        return f"archive ends at byte {offset} without an end-of-archive marker (truncated?)"
    if len(block) < BLOCK:
        return f"archive truncated at byte {offset + len(block)} inside a member header"
    if block.count(0) == BLOCK:
        return None
    return f"corrupt member header at byte {offset}"


def _members(
    f: BinaryIO, start: int, max_bytes: int, recovered: bool
) -> Generator[Entry, None, tuple[int, str | None, bool]]:
    """Yield members from ``start``; return (where it stopped, why, whether that is fatal)."""
    data_start = start
    try:
        f.seek(start)
        tf = tarfile.open(fileobj=f, mode="r:")  # noqa: SIM115 - closed with the file
    except Exception as exc:  # hostile input: tarfile raises many kinds
        reason = "empty file" if start == 0 and "empty" in str(exc) else f"{exc}"
        return (
            start,
            f"not a readable tar archive at byte {start}: {reason}",
            isinstance(exc, _FATAL),
        )
    while True:
        try:
            info = tf.next()
        except Exception as exc:
            msg = f"archive truncated or unreadable after byte {data_start}: {exc}"
            return data_start, msg, isinstance(exc, _FATAL)
        if info is None:
            try:
                return tf.offset, _why_stopped(f, tf.offset), False
            except Exception as exc:
                return tf.offset, f"archive unreadable at byte {tf.offset}: {exc}", True
        tf.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header otherwise: unbounded on big shards
        data_start = info.offset_data
        if info.isdir():
            continue
        entry = Entry(display(info.name), info.offset, recovered=recovered)
        entry.error = _refusal(info, max_bytes)
        if entry.error is None:
            try:
                stream = tf.extractfile(info)
                entry.data = stream.read() if stream is not None else b""
            except Exception as exc:
                entry.error = f"member data truncated or unreadable: {exc}"
                yield entry
                return info.offset_data, f"archive truncated inside member {entry.name}", True
        yield entry


def _resync(f: BinaryIO, start: int) -> int | None:
    """The offset of the next plausible header at or after ``start`` (block-aligned)."""
    base = start + (-start % BLOCK)
    chunk = 1 << 20
    try:
        while True:
            f.seek(base)
            buf = f.read(chunk + BLOCK)
            if len(buf) < BLOCK:
                return None
            at = buf.find(b"ustar", 257)
            while 0 <= at < len(buf):
                head = at - 257
                if head % BLOCK == 0 and head + BLOCK <= len(buf):
                    try:
                        tarfile.TarInfo.frombuf(
                            buf[head : head + BLOCK], "utf-8", "surrogateescape"
                        )
                        return base + head
                    except tarfile.HeaderError:
                        pass
                at = buf.find(b"ustar", at + 1)
            if len(buf) < chunk + BLOCK:
                return None
            base += chunk
    except Exception:
        return None


def walk(path: str, max_bytes: int) -> Iterator[Entry]:
    """Every member of the tar at ``path`` and every damaged region, in archive order."""
    try:
        raw = Path(path).open("rb")  # noqa: SIM115 - closed below; gzip wraps it
    except OSError as exc:
        yield Entry(None, 0, error=f"cannot open tar: {exc.strerror or exc}")
        return
    gz = path.lower().endswith((".gz", ".tgz"))
    f: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw  # type: ignore[assignment]
    with raw, f:
        size = None if gz else os.fstat(raw.fileno()).st_size
        pos, recovered = 0, False
        while True:
            stopped, why, fatal = yield from _members(f, pos, max_bytes, recovered)
            if why is None:
                return
            nxt = None
            if not fatal and (size is None or stopped < size):
                nxt = _resync(f, stopped + 1 if stopped == pos else stopped)
            if nxt is None:
                yield Entry(None, stopped, error=f"{why}; any later members are lost")
                return
            yield Entry(None, stopped, error=f"{why}; skipped to the next header at byte {nxt}")
            pos, recovered = nxt, True
