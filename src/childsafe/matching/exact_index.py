"""``ExactIndex``: equality lookup for cryptographic digests (md5, sha1, sha256, video_md5).

Why sorted arrays and not a dict: a Python dict of 10M md5 ``bytes`` keys to int ids measured
~123 B per entry; a sorted fixed-width ``S16`` array plus an int64 id column is 24 B (25 with
the removal mask), saves as two ``.npy`` files and memory-maps back instantly. Lookups are
vectorised ``np.searchsorted`` over a whole batch of queries.

Incremental updates without rebuilds: small additions go to a pending dict (key -> ids) that
queries also consult; once it outgrows max(64Ki, N/16) entries it is merged into the sorted
arrays with one O(N) ``np.insert``, so appends are amortised. Removal tombstones rows in a
mask (found by one parallel scan of the id column) and compacts once a quarter are dead.

One subclass per hash type keeps ``hash_type`` a class attribute, as the ``Index`` ABC wants;
``ExactIndex.for_type(name)`` picks it, and ``ExactIndex.load`` returns the saved type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from childsafe.errors import IndexError_
from childsafe.hashing.formats import HEX_LENGTHS
from childsafe.matching import _kernels
from childsafe.matching._hexpack import hex_to_bytes
from childsafe.matching._persist import read_index_dir, write_index_dir
from childsafe.matching.base import Index

_FORMAT = "childsafe-exact-index"
_MIN_PENDING = 1 << 16


class ExactIndex(Index):
    """Exact lookup of one digest type; use a subclass or :meth:`for_type`."""

    hash_type: ClassVar[str]
    _types: ClassVar[dict[str, type[ExactIndex]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "hash_type" in cls.__dict__:
            ExactIndex._types[cls.hash_type] = cls

    @classmethod
    def for_type(cls, hash_type: str) -> ExactIndex:
        """A new empty index for ``hash_type``; ``ValueError`` if it is not an exact type."""
        try:
            return cls._types[hash_type]()
        except KeyError:
            raise ValueError(f"no exact index for hash type {hash_type!r}") from None

    def __init__(self) -> None:
        if type(self) is ExactIndex:
            raise TypeError("use ExactIndex.for_type(hash_type) or a subclass such as MD5Index")
        self._width = HEX_LENGTHS[self.hash_type] // 2
        self._dtype = np.dtype(f"S{self._width}")
        self._keys = np.empty(0, self._dtype)
        self._ids = np.empty(0, np.int64)
        self._live: np.ndarray | None = None
        self._dead = 0
        self._pending: dict[bytes, list[int]] = {}
        self._pending_key: dict[int, bytes] = {}
        self.extra: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._keys) - self._dead + len(self._pending_key)

    def _pack(self, values: Sequence[str]) -> np.ndarray:
        return hex_to_bytes(values, self._width, self.hash_type).view(self._dtype).reshape(-1)

    def add(self, values: Sequence[str], ids: Sequence[int]) -> None:
        """Add entries; a value may carry several ids, ids must be unique."""
        keys = self._pack(values)
        ids_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(keys) != len(ids_arr):
            raise ValueError(f"{len(keys)} values but {len(ids_arr)} ids")
        if len(keys) + len(self._pending_key) >= max(_MIN_PENDING, len(self._keys) // 16):
            self._merge(keys, ids_arr)
            return
        for key, entry_id in zip(keys.tolist(), ids_arr.tolist(), strict=True):
            self._pending.setdefault(key, []).append(entry_id)
            self._pending_key[entry_id] = key

    def _merge(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Fold ``keys`` and the pending dict into the sorted arrays in one O(N) pass."""
        if self._pending_key:
            keys = np.concatenate([keys, np.array(list(self._pending_key.values()), self._dtype)])
            ids = np.concatenate([ids, np.fromiter(self._pending_key, np.int64)])
            self._pending.clear()
            self._pending_key.clear()
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        pos = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, pos, keys)
        self._ids = np.insert(self._ids, pos, ids)
        if self._live is not None:
            self._live = np.insert(self._live, pos, True)

    def remove(self, ids: Sequence[int]) -> int:
        """Remove entries by id; returns how many were present."""
        rm = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        removed = 0
        for entry_id in rm.tolist():
            key = self._pending_key.pop(entry_id, None)
            if key is not None:
                bucket = self._pending[key]
                bucket.remove(entry_id)
                if not bucket:
                    del self._pending[key]
                removed += 1
        if len(rm) == 0 or len(self._ids) == 0:
            return removed
        rows = np.flatnonzero(_kernels.member_mask(self._ids, rm))
        if self._live is None:
            self._live = np.ones(len(self._ids), np.bool_)
        rows = rows[self._live[rows]]
        self._live[rows] = False
        self._dead += len(rows)
        if self._dead > max(1024, len(self._ids) // 4):
            self._keys, self._ids = self._keys[self._live], self._ids[self._live]
            self._live, self._dead = None, 0
        return removed + len(rows)

    def query(self, values: Sequence[str], radius: int = 0) -> list[list[tuple[int, int]]]:
        """For each query, ``(entry_id, 0)`` for every entry with that exact value, by id.

        ``radius`` is accepted for the ``Index`` interface; digests have no notion of nearness,
        so any radius means equality.
        """
        q = self._pack(values)
        out: list[list[tuple[int, int]]] = [[] for _ in range(len(q))]
        lo = np.searchsorted(self._keys, q, side="left")
        hi = np.searchsorted(self._keys, q, side="right")
        for i in np.flatnonzero(hi > lo).tolist():
            rows = np.arange(lo[i], hi[i])
            if self._live is not None:
                rows = rows[self._live[rows]]
            out[i].extend((entry_id, 0) for entry_id in self._ids[rows].tolist())
        if self._pending:
            for i, key in enumerate(q.tolist()):
                out[i].extend((entry_id, 0) for entry_id in self._pending.get(key, ()))
        for hits in out:
            hits.sort()
        return out

    def entries(self) -> tuple[list[str], np.ndarray]:
        """Live ``(values, ids)`` sorted by value (pending entries merged first)."""
        if self._pending_key:
            self._merge(np.empty(0, self._dtype), np.empty(0, np.int64))
        keep = slice(None) if self._live is None else self._live
        keys = np.ascontiguousarray(self._keys[keep])
        text = keys.view(np.uint8).tobytes().hex()
        step = 2 * self._width
        return [text[i : i + step] for i in range(0, len(text), step)], self._ids[keep].copy()

    def save(self, path: Path, *, extra: Mapping[str, Any] | None = None) -> None:
        """Merge pending entries, then write the live sorted arrays atomically."""
        if self._pending_key:
            self._merge(np.empty(0, self._dtype), np.empty(0, np.int64))
        keep = slice(None) if self._live is None else self._live
        meta = {"hash_type": self.hash_type, "count": len(self._ids[keep])}
        if extra is not None:
            self.extra = dict(extra)
        meta["extra"] = self.extra
        arrays = {"hashes": self._keys[keep], "ids": self._ids[keep]}
        write_index_dir(path, _FORMAT, arrays, meta)

    @classmethod
    def load(cls, path: Path, *, verify: bool = True) -> Self:
        """Memory-map a saved index (of the saved hash type when called on ``ExactIndex``)."""
        arrays, meta = read_index_dir(path, _FORMAT, ("hashes", "ids"), verify=verify)
        saved = meta.get("hash_type")
        target = cls._types.get(saved) if isinstance(saved, str) else None
        if target is None or not issubclass(target, cls):
            raise IndexError_(f"{path}: holds {saved!r}, not a {cls.__name__}")
        index = target()
        keys, ids = arrays["hashes"], arrays["ids"]
        count = meta.get("count")
        if keys.dtype != index._dtype or keys.shape != (count,) or ids.shape != (count,):
            raise IndexError_(f"{path}: arrays do not hold {count} {saved} entries")
        index._keys, index._ids = keys, ids.astype(np.int64, copy=False)
        index.extra = dict(meta.get("extra") or {})
        return index


class MD5Index(ExactIndex):
    """MD5 digests of file bytes."""

    hash_type: ClassVar[str] = "md5"


class SHA1Index(ExactIndex):
    """SHA-1 digests of file bytes."""

    hash_type: ClassVar[str] = "sha1"


class SHA256Index(ExactIndex):
    """SHA-256 digests of file bytes."""

    hash_type: ClassVar[str] = "sha256"


class VideoMD5Index(ExactIndex):
    """MD5 of video files, as python-threatexchange's ``video_md5`` signal names it."""

    hash_type: ClassVar[str] = "video_md5"
