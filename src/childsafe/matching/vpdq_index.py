"""The vPDQ index: every distinct frame hash of every video in one ``PDQIndex``.

This is python-threatexchange's ``VPDQIndex`` (``extensions/vpdq/vpdq_index.py``) on our PDQ
index instead of faiss. Each entry's frames are deduplicated and quality-filtered the way
:func:`childsafe.hashing.vpdq.comparable_frames` does; a frame hash shared by several videos
is stored once, with the list of entries it belongs to (threatexchange learnt the hard way
that two copies of one hash in faiss lose matches). A query searches all its frames at once,
then counts, per entry, the query frames that hit it and the entry frames that were hit,
giving the same query and compared percentages as ``VPDQHasher.distance`` computes one pair
at a time (the index is tested against it).

Thresholds default to threatexchange's (and so HMA's): query match >= 80 %, compared match
>= 0 %, frame radius 31, quality floor 50. ``query(values, radius)`` takes ``radius`` in the
hasher's distance units (``100 - floor(min(query %, compared %))``) as an extra cut; ``None``
leaves only the percentage thresholds.

Entries whose frames are all under the quality floor are kept (so a bank import does not
fail on one dark video) but can never match. Bookkeeping is plain dicts: fine for banks of
tens of thousands of videos; past millions of frames it wants arrays.

Each entry's vPDQ string is kept too (``value``), because a ``Match`` reports the bank
entry's hash and the frame index alone cannot give it back (duplicate and low-quality frames
and timestamps are gone). It is one ``str`` per entry (about 80 B per frame) and is saved as
one byte blob; a bank store has no fetch-by-id, and a scan per match would cost far more.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from childsafe.errors import IndexError_
from childsafe.hashing.vpdq import (
    COMPARED_MATCH_PERCENT,
    PDQ_RADIUS,
    QUALITY_FLOOR,
    QUERY_MATCH_PERCENT,
    comparable_frames,
    match_distance,
    parse_vpdq,
)
from childsafe.matching._persist import read_index_dir, write_index_dir
from childsafe.matching.base import Index
from childsafe.matching.pdq_index import PDQIndex, unpack

_KIND = "childsafe-vpdq-entries"
_ARRAYS = ("entry_ids", "entry_lengths", "entry_frames", "value_lengths", "values")


class VPDQIndex(Index):
    """Video-level matches over a frame-level ``PDQIndex``."""

    hash_type: ClassVar[str] = "vpdq"

    def __init__(
        self,
        *,
        pdq_radius: int = PDQ_RADIUS,
        quality_floor: int = QUALITY_FLOOR,
        query_match_percent: float = QUERY_MATCH_PERCENT,
        compared_match_percent: float = COMPARED_MATCH_PERCENT,
    ) -> None:
        self.pdq_radius = pdq_radius
        self.quality_floor = quality_floor
        self.query_match_percent = query_match_percent
        self.compared_match_percent = compared_match_percent
        self._frames = PDQIndex()
        self._frame_id: dict[str, int] = {}  # frame hash -> frame id in the PDQ index
        self._frame_entries: dict[int, list[int]] = {}  # frame id -> entries holding it
        self._entries: dict[int, list[int]] = {}  # entry id -> its frame ids
        self._values: dict[int, str] = {}  # entry id -> its vPDQ string
        self._next_frame = 0
        self.extra: dict[str, Any] = {}

    def add(self, values: Sequence[str], ids: Sequence[int]) -> None:
        """Add videos; adding an id that is present replaces that entry."""
        if len(values) != len(ids):
            raise ValueError(f"{len(values)} values but {len(ids)} ids")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        parsed = self.comparable(values)
        self.remove([i for i in ids if i in self._entries])
        new_hashes: list[str] = []
        new_ids: list[int] = []
        for entry, value, hashes in zip(ids, values, parsed, strict=True):
            self._values[entry] = value
            frames = []
            for pdq in hashes:
                frame = self._frame_id.get(pdq)
                if frame is None:
                    frame = self._frame_id[pdq] = self._next_frame
                    self._next_frame += 1
                    self._frame_entries[frame] = []
                    new_hashes.append(pdq)
                    new_ids.append(frame)
                self._frame_entries[frame].append(entry)
                frames.append(frame)
            self._entries[entry] = frames
        if new_hashes:
            self._frames.add(new_hashes, new_ids)

    def remove(self, ids: Sequence[int]) -> int:
        dropped: list[int] = []
        removed = 0
        for entry in dict.fromkeys(ids):
            frames = self._entries.pop(entry, None)
            if frames is None:
                continue
            del self._values[entry]
            removed += 1
            for frame in frames:
                holders = self._frame_entries[frame]
                holders.remove(entry)
                if not holders:
                    del self._frame_entries[frame]
                    dropped.append(frame)
        if dropped:
            gone = set(dropped)
            self._frame_id = {h: f for h, f in self._frame_id.items() if f not in gone}
            self._frames.remove(dropped)
        return removed

    def value(self, entry_id: int) -> str:
        """The vPDQ string an entry was added with."""
        return self._values[entry_id]

    def comparable(self, values: Sequence[str]) -> list[list[str]]:
        """Each video's frame hashes that take part in matching under this index's floor.

        Public so a caller matching one batch against several indexes with the same floor
        parses each video once (see :meth:`query_frames`); raises ``HashFormatError``.
        """
        return [comparable_frames(parse_vpdq(v), self.quality_floor) for v in values]

    def query(
        self, values: Sequence[str], radius: int | None = None
    ) -> list[list[tuple[int, int]]]:
        """For each query video, ``(entry_id, distance)`` of the entries it matches, best first."""
        return self.query_frames(self.comparable(values), radius)

    def query_frames(
        self, per_video: Sequence[Sequence[str]], radius: int | None = None
    ) -> list[list[tuple[int, int]]]:
        """:meth:`query` for videos already reduced by :meth:`comparable`."""
        flat = [pdq for hashes in per_video for pdq in hashes]
        hits = self._frames.query(flat, self.pdq_radius) if flat else []
        results: list[list[tuple[int, int]]] = []
        start = 0
        for hashes in per_video:
            results.append(self._score(len(hashes), hits[start : start + len(hashes)], radius))
            start += len(hashes)
        return results

    def _score(
        self, n_query: int, hits: list[list[tuple[int, int]]], radius: int | None
    ) -> list[tuple[int, int]]:
        query_hits: defaultdict[int, int] = defaultdict(int)  # entry -> query frames that hit it
        entry_hits: defaultdict[int, set[int]] = defaultdict(set)  # entry -> its frames hit
        for frame_hits in hits:
            entries_hit: set[int] = set()
            for frame, _ in frame_hits:
                for entry in self._frame_entries.get(frame, ()):
                    entries_hit.add(entry)
                    entry_hits[entry].add(frame)
            for entry in entries_hit:
                query_hits[entry] += 1
        out = []
        for entry, count in query_hits.items():
            query_pct = count * 100 / n_query
            compared_pct = len(entry_hits[entry]) * 100 / len(self._entries[entry])
            distance = match_distance(query_pct, compared_pct)
            if (
                query_pct >= self.query_match_percent
                and compared_pct >= self.compared_match_percent
                and (radius is None or distance <= radius)
            ):
                out.append((entry, distance))
        return sorted(out, key=lambda hit: (hit[1], hit[0]))

    def __len__(self) -> int:
        return len(self._entries)

    def save(self, path: Path, *, extra: dict[str, Any] | None = None) -> None:
        """Write ``path/frames`` (the PDQ index) and ``path/entries``, replacing ``path`` whole.

        ``extra`` (JSON) is kept in the entries' meta and read back into ``self.extra``, as
        for the other indexes (the matcher records the bank version there).
        """
        if extra is not None:
            self.extra = dict(extra)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            self._frames.save(tmp / "frames")
            blobs = [self._values[e].encode() for e in self._entries]
            arrays: dict[str, np.ndarray] = {
                "entry_ids": np.fromiter(self._entries, np.int64, len(self._entries)),
                "entry_lengths": np.array([len(f) for f in self._entries.values()], np.int64),
                "entry_frames": np.array(
                    [f for frames in self._entries.values() for f in frames], np.int64
                ),
                "value_lengths": np.array([len(b) for b in blobs], np.int64),
                "values": np.frombuffer(b"".join(blobs), np.uint8),
            }
            meta = {"settings": self._settings(), "extra": self.extra}
            write_index_dir(tmp / "entries", _KIND, arrays, meta)
            old = path.with_name(f"{tmp.name}.old")
            if path.exists():
                path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _settings(self) -> dict[str, float]:
        return {
            "pdq_radius": self.pdq_radius,
            "quality_floor": self.quality_floor,
            "query_match_percent": self.query_match_percent,
            "compared_match_percent": self.compared_match_percent,
            "next_frame": self._next_frame,
        }

    @classmethod
    def load(cls, path: Path) -> Self:
        path = Path(path)
        frames = PDQIndex.load(path / "frames")
        arrays, meta = read_index_dir(path / "entries", _KIND, _ARRAYS)
        try:
            settings = dict(meta["settings"])
            next_frame = int(settings.pop("next_frame"))
            index = cls(**settings)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexError_(f"{path}: damaged vpdq index settings ({exc})") from None
        hashes, frame_ids = frames.entries()
        index._frames = frames
        index._next_frame = next_frame
        index._frame_id = dict(zip(unpack(hashes), frame_ids.tolist(), strict=True))
        index._frame_entries = {f: [] for f in frame_ids.tolist()}
        index.extra = dict(meta.get("extra") or {})
        lengths = arrays["entry_lengths"]
        ends = np.cumsum(lengths)
        entry_frames = arrays["entry_frames"].tolist()
        bounds = zip(
            arrays["entry_ids"].tolist(), (ends - lengths).tolist(), ends.tolist(), strict=True
        )
        try:
            for entry, lo, hi in bounds:
                index._entries[entry] = entry_frames[lo:hi]
                for frame in index._entries[entry]:
                    index._frame_entries[frame].append(entry)
        except (KeyError, ValueError) as exc:
            raise IndexError_(f"{path}: entries and frames disagree ({exc}); rebuild it") from None
        index._values = _split_values(path, arrays, list(index._entries))
        if any(not holders for holders in index._frame_entries.values()):
            raise IndexError_(f"{path}: frames without entries; rebuild it")
        return index


def _split_values(path: Path, arrays: dict[str, np.ndarray], ids: list[int]) -> dict[int, str]:
    """The saved vPDQ strings, one per entry id, in ``ids`` order."""
    lengths = arrays["value_lengths"]
    blob = arrays["values"].tobytes()
    if lengths.shape != (len(ids),) or int(lengths.sum()) != len(blob) or np.any(lengths < 0):
        raise IndexError_(f"{path}: saved values do not fit the entries; rebuild it")
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends][: len(ends)]
    try:
        return {e: blob[lo:hi].decode() for e, lo, hi in zip(ids, starts, ends, strict=True)}
    except UnicodeDecodeError:
        raise IndexError_(f"{path}: saved values are damaged; rebuild it") from None
