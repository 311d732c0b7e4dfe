"""Numba kernels behind the indexes: the PDQ Hamming scan, hex decoding and id lookups.

Why a brute force: at the list sizes childsafe serves (1M-50M PDQ hashes) an exact scan over
packed ``(N, 4)`` uint64 rows is faster than faiss multi-index hashing as python-threatexchange
configures it, needs 32 B per hash instead of ~250 B, has no build step and cannot miss an
entry (shared/notes/performance.md, sections 0 and 7).

How it is fast:

* **Register blocking.** Eight queries (32 words) are held in registers while the data rows
  stream past, so each loaded data word is compared with eight queries. Measured on the 2-core
  AVX-512 machine at 1M hashes x 2,000 queries: one query at a time 470-690 q/s per core,
  four at a time ~1,600, eight at a time ~2,500. Row-major ``(N, 4)`` and column-major
  ``(4, N)`` ran within noise of each other, so the index uses ``(N, 4)``: appends, compaction
  and saving are then plain row operations.
* **Count first, record later.** The inner loop only counts rows within the radius (a
  branch-free reduction LLVM vectorises to ``vpopcntq``); the rare sub-block that has a hit is
  rescanned query by query to record ``(query, row, distance)``. Random pairs sit at 128 +- 8
  bits, so at radius 31 rescans are almost free.
* **Cache blocking.** Data is scanned in L1-sized sub-blocks of 1,024 rows (32 KiB) against
  all queries before moving on; threads split the data into chunks (``prange``).

Each chunk writes hits into its own fixed-capacity row of the output; a chunk that overflows
reports its true count, and the caller reruns just that chunk with enough room, so the result
is always complete.
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as llvm_ir  # type: ignore[import-untyped]
import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

SUB_BLOCK = 1024
QUERY_BLOCK = 8


def _ctpop(typingctx: Any, x: Any) -> Any:
    """``llvm.ctpop.i64``: numba has no popcount; this lowers to ``vpopcntq`` in vector loops."""
    sig = types.int64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = builder.module.declare_intrinsic("llvm.ctpop", [llvm_ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return sig, codegen


_popcount: Any = intrinsic(_ctpop)


@njit(parallel=True, cache=True)
def hamming_scan(h, starts, ends, q, nq, radius, cap):  # type: ignore[no-untyped-def]
    """Every ``(query, row)`` pair of ``q[:nq]`` x ``h[starts[c]:ends[c]]`` within ``radius``.

    ``q`` must be padded to a multiple of ``QUERY_BLOCK`` rows (padding rows are never
    reported). Returns per-chunk ``counts`` and ``(chunks, cap)`` arrays of query index, row
    and distance; ``counts[c] > cap`` means chunk ``c`` overflowed and must be rerun.
    """
    nchunks = starts.shape[0]
    counts = np.zeros(nchunks, np.int64)
    out_q = np.empty((nchunks, cap), np.int64)
    out_row = np.empty((nchunks, cap), np.int64)
    out_d = np.empty((nchunks, cap), np.int16)
    nqp = q.shape[0]
    for c in prange(nchunks):
        k = 0
        end = ends[c]
        for b in range(starts[c], end, SUB_BLOCK):
            be = min(end, b + SUB_BLOCK)
            for qi in range(0, nqp, QUERY_BLOCK):
                a0, a1, a2, a3 = q[qi, 0], q[qi, 1], q[qi, 2], q[qi, 3]
                b0, b1, b2, b3 = q[qi + 1, 0], q[qi + 1, 1], q[qi + 1, 2], q[qi + 1, 3]
                c0, c1, c2, c3 = q[qi + 2, 0], q[qi + 2, 1], q[qi + 2, 2], q[qi + 2, 3]
                d0, d1, d2, d3 = q[qi + 3, 0], q[qi + 3, 1], q[qi + 3, 2], q[qi + 3, 3]
                e0, e1, e2, e3 = q[qi + 4, 0], q[qi + 4, 1], q[qi + 4, 2], q[qi + 4, 3]
                f0, f1, f2, f3 = q[qi + 5, 0], q[qi + 5, 1], q[qi + 5, 2], q[qi + 5, 3]
                g0, g1, g2, g3 = q[qi + 6, 0], q[qi + 6, 1], q[qi + 6, 2], q[qi + 6, 3]
                i0, i1, i2, i3 = q[qi + 7, 0], q[qi + 7, 1], q[qi + 7, 2], q[qi + 7, 3]
                hits = 0
                for j in range(b, be):
                    x0, x1, x2, x3 = h[j, 0], h[j, 1], h[j, 2], h[j, 3]
                    da = _popcount(x0 ^ a0) + _popcount(x1 ^ a1) + _popcount(x2 ^ a2)
                    da += _popcount(x3 ^ a3)
                    db = _popcount(x0 ^ b0) + _popcount(x1 ^ b1) + _popcount(x2 ^ b2)
                    db += _popcount(x3 ^ b3)
                    dc = _popcount(x0 ^ c0) + _popcount(x1 ^ c1) + _popcount(x2 ^ c2)
                    dc += _popcount(x3 ^ c3)
                    dd = _popcount(x0 ^ d0) + _popcount(x1 ^ d1) + _popcount(x2 ^ d2)
                    dd += _popcount(x3 ^ d3)
                    de = _popcount(x0 ^ e0) + _popcount(x1 ^ e1) + _popcount(x2 ^ e2)
                    de += _popcount(x3 ^ e3)
                    df = _popcount(x0 ^ f0) + _popcount(x1 ^ f1) + _popcount(x2 ^ f2)
                    df += _popcount(x3 ^ f3)
                    dg = _popcount(x0 ^ g0) + _popcount(x1 ^ g1) + _popcount(x2 ^ g2)
                    dg += _popcount(x3 ^ g3)
                    di = _popcount(x0 ^ i0) + _popcount(x1 ^ i1) + _popcount(x2 ^ i2)
                    di += _popcount(x3 ^ i3)
                    m = min(min(min(da, db), min(dc, dd)), min(min(de, df), min(dg, di)))
                    hits += m <= radius
                if hits == 0:
                    continue
                for t in range(qi, min(qi + QUERY_BLOCK, nq)):
                    a0, a1, a2, a3 = q[t, 0], q[t, 1], q[t, 2], q[t, 3]
                    for j in range(b, be):
                        dist = _popcount(h[j, 0] ^ a0) + _popcount(h[j, 1] ^ a1)
                        dist += _popcount(h[j, 2] ^ a2) + _popcount(h[j, 3] ^ a3)
                        if dist <= radius:
                            if k < cap:
                                out_q[c, k] = t
                                out_row[c, k] = j
                                out_d[c, k] = dist
                            k += 1
        counts[c] = k
    return counts, out_q, out_row, out_d


@njit(cache=True)
def hex_decode(text, nbytes):  # type: ignore[no-untyped-def]
    """Decode ASCII hex (``2 * nbytes`` uint8 codes) to bytes; returns ``(out, first_bad)``.

    ``first_bad`` is the offset of the first non-hex character, or -1. Upper and lower case
    are both accepted; ``bytes.fromhex`` on a joined string was 3x slower for 10M hashes.
    """
    lut = np.full(256, 255, np.uint8)
    for i in range(10):
        lut[48 + i] = i
    for i in range(6):
        lut[97 + i] = 10 + i
        lut[65 + i] = 10 + i
    out = np.empty(nbytes, np.uint8)
    for i in range(nbytes):
        hi = lut[text[2 * i]]
        lo = lut[text[2 * i + 1]]
        if hi == 255 or lo == 255:
            return out, 2 * i if hi == 255 else 2 * i + 1
        out[i] = (hi << 4) | lo
    return out, -1


@njit(parallel=True, cache=True)
def member_mask(ids, sorted_keys):  # type: ignore[no-untyped-def]
    """``ids[i] in sorted_keys`` for every i: one parallel pass, O(N log k).

    Used to find the rows of ids being removed when the id column is not sorted; removing k
    ids from a 10M index then costs one scan of 80 MB, not a rebuild.
    """
    n = ids.shape[0]
    m = sorted_keys.shape[0]
    out = np.zeros(n, np.bool_)
    if m == 0:
        return out
    for i in prange(n):
        v = ids[i]
        p = np.searchsorted(sorted_keys, v)
        out[i] = p < m and sorted_keys[p] == v
    return out
