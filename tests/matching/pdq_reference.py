"""Shared by the PDQ index tests: random hashes, planted near-duplicates, the brute force."""

from __future__ import annotations

import numpy as np

from childsafe.matching import PDQIndex

ALL_BITS = np.arange(256)


def rand(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniformly random packed PDQ hashes, shape ``(n, 4)``."""
    return rng.integers(0, 2**64, (n, 4), dtype=np.uint64, endpoint=False)


def flip_in(row: np.ndarray, k: int, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``row`` with ``k`` of the given bit positions flipped: a near-duplicate at distance k."""
    out = row.copy()
    for bit in rng.choice(bits, k, replace=False).tolist():
        out[bit // 64] ^= np.uint64(1 << (bit % 64))
    return out


def flip(row: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``row`` with ``k`` random bits flipped."""
    return flip_in(row, k, ALL_BITS, rng)


def brute(h: np.ndarray, ids: np.ndarray, q: np.ndarray, r: int) -> list[tuple[int, int, int]]:
    """Every ``(query, id, distance)`` within ``r``: the reference the index must equal."""
    out = []
    for i, row in enumerate(q):
        d = np.bitwise_count(h ^ row).sum(axis=1)
        out += [(i, int(ids[j]), int(d[j])) for j in np.flatnonzero(d <= r)]
    return sorted(out, key=lambda t: (t[0], t[2], t[1]))


def got(index: PDQIndex, q: np.ndarray, r: int) -> list[tuple[int, int, int]]:
    """The index's answer in the same shape as :func:`brute`."""
    qi, ids, d = index.query_packed(q, r)
    return list(zip(qi.tolist(), ids.tolist(), d.tolist(), strict=True))
