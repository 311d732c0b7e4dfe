"""``PDQIndex``: exact Hamming-radius search over PDQ hashes, by a fast brute force.

Layout: hashes live in one column-major ``(4, capacity)`` uint64 buffer (32 B per hash: word w
of every hash is contiguous, so the scan's 128-bit prefix filter streams just two columns, see
``_kernels``), ids in an int64 buffer (8 B), and a bool "live" mask (1 B) exists once anything
was removed: 41 B per entry in all. Buffers grow geometrically (by 1/8, so spare capacity keeps
the total under 48 B per entry), so ``add`` is an amortised append, never a rebuild.

Removal is by tombstone: the rows of removed ids are marked dead in the mask and skipped when
hits are collected; once a quarter of the rows are dead the buffers are compacted in one
O(N) pass. Finding the rows of k ids costs a binary search when the id column is sorted
(bank ids arrive in increasing order, so it usually is) and one parallel scan otherwise.

A saved index is ``hashes.npy``, ``ids.npy`` and ``meta.json`` (see ``_persist``); ``load``
memory-maps the arrays, so a 10M index is ready in well under a second, and the first write
after a load copies the map into owned buffers (copy on write). ``hashes.npy`` holds the
``(4, N)`` columns flattened to shape ``(4 N,)`` (meta ``"hash_layout": "columns"``): a flat
shape makes an older childsafe, which expects ``(N, 4)`` rows, refuse the file with an
``IndexError_`` instead of misreading it. Files saved in that older row layout still load; they
are transposed into owned memory once (about 0.1 s per million hashes, no memory sharing).

Packing (``pack_hex``/``unpack``, in ``_hexpack``): the words are the bytes of
``bytes.fromhex(value)`` read little-endian, the same bytes faiss and python-threatexchange
use, so the Hamming distance of packed rows equals that of the hex values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numba
import numpy as np

from childsafe.errors import IndexError_
from childsafe.matching import _kernels
from childsafe.matching._hexpack import pack_hex, unpack
from childsafe.matching._persist import read_index_dir, write_index_dir
from childsafe.matching.base import Index

DEFAULT_RADIUS = 31
PDQ_BITS = 256
_FORMAT = "childsafe-pdq-index"
_LAYOUT = "columns"

__all__ = ["DEFAULT_RADIUS", "PDQHits", "PDQIndex", "pack_hex", "unpack"]


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.asarray(ids, dtype=np.int64).reshape(-1)


@dataclass(frozen=True, slots=True)
class PDQHits:
    """Hits of a batch query as parallel arrays, sorted by query, distance, then id.

    ``hashes`` holds the matched entries' packed hashes, so callers can report the bank value
    without another lookup.
    """

    query_idx: np.ndarray
    entry_ids: np.ndarray
    distances: np.ndarray
    hashes: np.ndarray


class PDQIndex(Index):
    """Every entry within a Hamming radius, exactly; see the module docstring for the design."""

    hash_type: ClassVar[str] = "pdq"

    def __init__(self) -> None:
        self._h = np.empty((4, 0), np.uint64)  # (4, capacity) columns
        self._ids = np.empty(0, np.int64)
        self._live: np.ndarray | None = None
        self._n = 0
        self._dead = 0
        self._sorted = True
        self.extra: dict[str, Any] = {}

    def __len__(self) -> int:
        return self._n - self._dead

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers (capacity included), for memory accounting."""
        live = 0 if self._live is None else self._live.nbytes
        return int(self._h.nbytes + self._ids.nbytes + live)

    def add(self, values: Sequence[str], ids: Sequence[int]) -> None:
        """Append entries; ids must be unique (bank entry ids are)."""
        self.add_packed(pack_hex(values), _as_ids(ids))

    def add_packed(self, hashes: np.ndarray, ids: Sequence[int] | np.ndarray) -> None:
        """Append already-packed ``(K, 4)`` uint64 hashes and their ids."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        ids_arr = _as_ids(ids)
        if hashes.ndim != 2 or hashes.shape[1] != 4 or len(hashes) != len(ids_arr):
            raise ValueError(f"want (K, 4) hashes and K ids, got {hashes.shape} and {len(ids_arr)}")
        k, n = len(ids_arr), self._n
        if k == 0:
            return
        self._reserve(n + k)
        self._h[:, n : n + k] = hashes.T
        self._ids[n : n + k] = ids_arr
        if self._live is not None:
            self._live[n : n + k] = True
        if self._sorted:
            increasing = k == 1 or bool(np.all(ids_arr[1:] > ids_arr[:-1]))
            self._sorted = increasing and (n == 0 or bool(ids_arr[0] > self._ids[n - 1]))
        self._n = n + k

    def _reserve(self, need: int) -> None:
        cap = self._h.shape[1]
        if need <= cap and self._h.flags.writeable and self._ids.flags.writeable:
            return
        # Grow by 1/8, not 2x: appends stay amortised O(1) (each row is copied ~8 times over
        # its life, at memcpy speed) while spare capacity stays under the 48 B/entry budget.
        new_cap = max(need, cap + cap // 8, 1024) if need > cap else cap
        n = self._n
        h = np.empty((4, new_cap), np.uint64)
        h[:, :n] = self._h[:, :n]
        ids = np.empty(new_cap, np.int64)
        ids[:n] = self._ids[:n]
        self._h, self._ids = h, ids
        if self._live is not None:
            live = np.ones(new_cap, np.bool_)
            live[:n] = self._live[:n]
            self._live = live

    def remove(self, ids: Sequence[int]) -> int:
        """Tombstone the rows of these ids; compacts once a quarter of the rows are dead."""
        rm = np.unique(_as_ids(ids))
        n = self._n
        if len(rm) == 0 or n == 0:
            return 0
        col = self._ids[:n]
        if self._sorted:
            pos = np.searchsorted(col, rm)
            found = pos < n
            pos, wanted = pos[found], rm[found]
            rows = pos[col[pos] == wanted]
        else:
            rows = np.flatnonzero(_kernels.member_mask(col, rm))
        if self._live is None:
            self._live = np.ones(self._h.shape[1], np.bool_)
        rows = rows[self._live[rows]]
        self._live[rows] = False
        self._dead += len(rows)
        if self._dead > max(1024, n // 4):
            self._compact()
        return len(rows)

    def _compact(self) -> None:
        keep = self._live_mask()
        self._h = np.ascontiguousarray(self._h[:, : self._n][:, keep])
        self._ids = self._ids[: self._n][keep]
        self._n, self._dead, self._live = len(self._ids), 0, None

    def _live_mask(self) -> np.ndarray | slice:
        return slice(None) if self._live is None else self._live[: self._n]

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> PDQHits:
        """All hits of packed ``(M, 4)`` queries within ``radius``, in one kernel call."""
        q = np.ascontiguousarray(queries, dtype=np.uint64)
        if q.ndim != 2 or q.shape[1] != 4:
            raise ValueError(f"want (M, 4) uint64 queries, got shape {q.shape}")
        if not 0 <= radius <= PDQ_BITS:
            raise ValueError(f"radius must be 0-{PDQ_BITS}, got {radius}")
        qidx, rows, dist = self._scan(q, int(radius))
        if self._live is not None and len(rows):
            keep = self._live[rows]
            qidx, rows, dist = qidx[keep], rows[keep], dist[keep]
        ids = self._ids[rows]
        order = np.lexsort((ids, dist, qidx))
        rows = rows[order]
        hashes = np.ascontiguousarray(self._h[:, rows].T)
        return PDQHits(qidx[order], ids[order], dist[order].astype(np.int64), hashes)

    def _scan(self, q: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, n = len(q), self._n
        if m == 0 or n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int16)
        pad = (-m) % _kernels.QUERY_BLOCK
        qp = np.concatenate([q, np.repeat(q[-1:], pad, axis=0)]) if pad else q
        # A few chunks per thread so a busy core does not hold the others up for long.
        per = -(-n // (4 * numba.get_num_threads()))
        sub = _kernels.SUB_BLOCK
        chunk = min(max(sub, -(-per // sub) * sub), 1 << 20)
        starts = np.arange(0, n, chunk, dtype=np.int64)
        ends = np.minimum(starts + chunk, n)
        cap = 256
        # The prefix filter is exact for any radius but only prunes up to PREFIX_MAX_RADIUS.
        scan = _kernels.scan_prefix if radius <= _kernels.PREFIX_MAX_RADIUS else _kernels.scan_full
        counts, oq, orow, od = scan(self._h, starts, ends, qp, m, radius, cap)
        over = counts > cap
        filled = np.arange(cap) < np.where(over, 0, counts)[:, None]
        parts = [(oq[filled], orow[filled], od[filled])]
        if over.any():  # rerun only the chunks that overflowed, with room for all their hits
            big = int(counts[over].max())
            c2, oq2, orow2, od2 = scan(self._h, starts[over], ends[over], qp, m, radius, big)
            filled2 = np.arange(big) < c2[:, None]
            parts.append((oq2[filled2], orow2[filled2], od2[filled2]))
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    def query_packed(
        self, q: np.ndarray, radius: int = DEFAULT_RADIUS
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(query_idx, entry_ids, distances)`` arrays for packed queries, nearest first."""
        hits = self.search(q, radius)
        return hits.query_idx, hits.entry_ids, hits.distances

    def query(
        self, values: Sequence[str], radius: int = DEFAULT_RADIUS
    ) -> list[list[tuple[int, int]]]:
        """For each hex query, every ``(entry_id, distance)`` within ``radius``, nearest first."""
        qidx, ids, dist = self.query_packed(pack_hex(values), radius)
        bounds = np.searchsorted(qidx, np.arange(len(values) + 1))
        pairs = list(zip(ids.tolist(), dist.tolist(), strict=True))
        return [pairs[bounds[i] : bounds[i + 1]] for i in range(len(values))]

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the live ``(hashes, ids)``, in insertion order."""
        keep = self._live_mask()
        return self._h[:, : self._n][:, keep].T.copy(), self._ids[: self._n][keep].copy()

    def save(self, path: Path, *, extra: Mapping[str, Any] | None = None) -> None:
        """Write live entries atomically; ``extra`` (JSON) is kept in meta and read back."""
        keep = self._live_mask()
        cols, ids = self._h[:, : self._n][:, keep], self._ids[: self._n][keep]
        meta: dict[str, Any] = {
            "hash_type": self.hash_type,
            "count": len(ids),
            "ids_sorted": self._sorted,
            "hash_layout": _LAYOUT,
        }
        if extra is not None:
            self.extra = dict(extra)
        meta["extra"] = self.extra
        hashes = np.ascontiguousarray(cols).reshape(-1)  # (4 N,): see the module docstring
        write_index_dir(path, _FORMAT, {"hashes": hashes, "ids": ids}, meta)

    @classmethod
    def load(cls, path: Path, *, verify: bool = True) -> Self:
        """Memory-map a saved index; ``IndexError_`` if anything does not check out."""
        arrays, meta = read_index_dir(path, _FORMAT, ("hashes", "ids"), verify=verify)
        hashes, ids = arrays["hashes"], arrays["ids"]
        count = meta.get("count")
        if meta.get("hash_type") != cls.hash_type:
            raise IndexError_(f"{path}: holds {meta.get('hash_type')!r}, not {cls.hash_type}")
        if not isinstance(count, int):
            raise IndexError_(f"{path}: meta.json has no entry count")
        layout = meta.get("hash_layout", "rows")  # absent: saved before the column layout
        want = {"rows": (count, 4), _LAYOUT: (4 * count,)}.get(layout)
        if want is None:
            raise IndexError_(f"{path}: unknown hash layout {layout!r}; rebuild the index")
        if hashes.dtype != np.uint64 or hashes.shape != want or ids.shape != (count,):
            raise IndexError_(f"{path}: arrays do not hold {count} pdq entries")
        # Columns: a view, so the map stays shared between processes. Rows: transpose once.
        cols = hashes.reshape(4, count) if layout == _LAYOUT else np.ascontiguousarray(hashes.T)
        index = cls()
        index._h, index._ids, index._n = cols, ids.astype(np.int64, copy=False), count
        index._sorted = bool(meta.get("ids_sorted", False))
        index.extra = dict(meta.get("extra") or {})
        return index
