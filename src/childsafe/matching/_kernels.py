"""Numba kernels behind the indexes: the PDQ Hamming scan, hex decoding and id lookups.

Why a brute force: at the list sizes childsafe serves (1M-50M PDQ hashes) an exact scan is faster
than faiss multi-index hashing as python-threatexchange configures it, needs 32 B per hash instead
of ~250 B, has no build step and cannot miss an entry (shared/notes/performance.md, sections 0
and 7). Multi-index hashing with full recall at radius 31 needs >= 16 tables (32-64 B per entry
on top of the hashes), so the speed has to come from doing less work per pair instead.

How it is fast:

* **Prefix filter (the main saving).** The Hamming distance over all 256 bits is the distance
  over words 0-1 (the first 128 bits) plus the distance over words 2-3, and both parts are
  >= 0, so ``d256 <= r`` implies ``d128 <= r``. The first stage therefore popcounts only words
  0-1 of every pair: two popcounts instead of four. It is exact, not a heuristic: words 2-3 are
  added for the survivors and the final test is on the full distance. It is also selective: for
  unrelated hashes d128 is Binomial(128, 1/2) (64 +- 5.7), so ``d128 <= 31`` happens with
  probability ~5e-9, and the second stage costs nothing measurable. The bound weakens as the
  radius grows (``d128 <= 40`` ~2e-5, ``<= 48`` ~2e-3 per pair, and a 512-row x 32-query block
  then almost always needs its rescan), so above ``PREFIX_MAX_RADIUS`` the first stage uses
  all four words (``scan_full``); results are identical either way. A 64-bit first stage was
  not worth it: ``d64 <= 31`` passes ~45 % of random pairs, so every block would be rescanned.
* **Column layout.** Hashes are stored as a ``(4, N)`` uint64 array (word w of every hash is
  contiguous), so the first stage streams two contiguous columns (16 B per entry) and LLVM
  vectorises the row loop to 8-lane ``vpopcntq`` with plain vector loads, no shuffles.
* **Register/cache blocking.** A sub-block of 512 rows (8 KiB of prefix words) stays in L1
  while 32 queries are compared with it; each loaded data vector is reused for 32 queries, the
  query words come in as embedded broadcasts. Measured at 1M hashes on the shared 2-core
  AVX-512 machine, same run: old row-major 4-word kernel (8 queries per pass) 1,500-2,000 q/s;
  prefix filter with 8 queries 1,800-2,200, 16 queries 4,500-6,500, 32 queries 5,000-13,500
  (sub-block 512), 64 queries no better than 32. Threads split the data into chunks
  (``prange``).
* **Count first, record later.** The inner loop only counts (row, query-block) pairs that pass
  the first stage (a branch-free reduction); the rare block with a survivor is rescanned query
  by query in ``_record``, which applies the exact full-distance test.

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

SUB_BLOCK = 512
QUERY_BLOCK = 32
# Largest radius for which the 128-bit prefix filter pays (see the module docstring).
PREFIX_MAX_RADIUS = 38


def _ctpop(typingctx: Any, x: Any) -> Any:
    """``llvm.ctpop.i64``: numba has no popcount; this lowers to ``vpopcntq`` in vector loops."""
    sig = types.int64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = builder.module.declare_intrinsic("llvm.ctpop", [llvm_ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return sig, codegen


_popcount: Any = intrinsic(_ctpop)


@njit(cache=True)
def _outputs(nchunks, cap):  # type: ignore[no-untyped-def]
    counts = np.zeros(nchunks, np.int64)
    out_q = np.empty((nchunks, cap), np.int64)
    out_row = np.empty((nchunks, cap), np.int64)
    out_d = np.empty((nchunks, cap), np.int16)
    return counts, out_q, out_row, out_d


@njit(cache=True, error_model="numpy")
def _record(h, b, be, q, qi, qe, radius, c, k, out_q, out_row, out_d):  # type: ignore[no-untyped-def]
    """Record the hits of queries ``qi:qe`` in rows ``b:be``; returns the chunk's new count.

    The prefix test comes first (it rejects almost every row), then the exact 256-bit test.
    Hits past the output capacity are only counted (the caller reruns the chunk).
    """
    cap = out_q.shape[1]
    h0, h1, h2, h3 = h[0], h[1], h[2], h[3]
    for t in range(qi, qe):
        a0, a1, a2, a3 = q[t, 0], q[t, 1], q[t, 2], q[t, 3]
        for j in range(b, be):
            dist = _popcount(h0[j] ^ a0) + _popcount(h1[j] ^ a1)
            if dist <= radius:
                dist += _popcount(h2[j] ^ a2) + _popcount(h3[j] ^ a3)
                if dist <= radius:
                    if k < cap:
                        out_q[c, k] = t
                        out_row[c, k] = j
                        out_d[c, k] = dist
                    k += 1
    return k


@njit(parallel=True, cache=True, error_model="numpy", fastmath=True)
def scan_prefix(h, starts, ends, q, nq, radius, cap):  # type: ignore[no-untyped-def]
    """Every ``(query, row)`` pair within ``radius`` for ``radius <= PREFIX_MAX_RADIUS``.

    ``h`` is the ``(4, N)`` column array; rows ``starts[c]:ends[c]`` form chunk ``c``. ``q``
    holds ``(M, 4)`` queries padded to a multiple of ``QUERY_BLOCK`` rows (padding rows are
    never reported). First stage: distance over words 0-1 only (a necessary condition, see the
    module docstring). Returns per-chunk ``counts`` and ``(chunks, cap)`` arrays of query
    index, row and distance; ``counts[c] > cap`` means chunk ``c`` overflowed and must be rerun.

    The 32 queries of a block are spelled out as scalars on purpose, so that numba keeps them
    in registers and vectorises the row loop (8 lanes of AVX-512 popcount); blocks of 32
    queries measured 2-3x faster than blocks of 8. ``scan_full`` repeats the shape with four
    words.
    """
    counts, out_q, out_row, out_d = _outputs(starts.shape[0], cap)
    h0, h1 = h[0], h[1]
    for c in prange(starts.shape[0]):
        k = 0
        for b in range(starts[c], ends[c], SUB_BLOCK):
            be = min(ends[c], b + SUB_BLOCK)
            for qi in range(0, q.shape[0], QUERY_BLOCK):
                q000, q001 = q[qi + 0, 0], q[qi + 0, 1]
                q010, q011 = q[qi + 1, 0], q[qi + 1, 1]
                q020, q021 = q[qi + 2, 0], q[qi + 2, 1]
                q030, q031 = q[qi + 3, 0], q[qi + 3, 1]
                q040, q041 = q[qi + 4, 0], q[qi + 4, 1]
                q050, q051 = q[qi + 5, 0], q[qi + 5, 1]
                q060, q061 = q[qi + 6, 0], q[qi + 6, 1]
                q070, q071 = q[qi + 7, 0], q[qi + 7, 1]
                q080, q081 = q[qi + 8, 0], q[qi + 8, 1]
                q090, q091 = q[qi + 9, 0], q[qi + 9, 1]
                q100, q101 = q[qi + 10, 0], q[qi + 10, 1]
                q110, q111 = q[qi + 11, 0], q[qi + 11, 1]
                q120, q121 = q[qi + 12, 0], q[qi + 12, 1]
                q130, q131 = q[qi + 13, 0], q[qi + 13, 1]
                q140, q141 = q[qi + 14, 0], q[qi + 14, 1]
                q150, q151 = q[qi + 15, 0], q[qi + 15, 1]
                q160, q161 = q[qi + 16, 0], q[qi + 16, 1]
                q170, q171 = q[qi + 17, 0], q[qi + 17, 1]
                q180, q181 = q[qi + 18, 0], q[qi + 18, 1]
                q190, q191 = q[qi + 19, 0], q[qi + 19, 1]
                q200, q201 = q[qi + 20, 0], q[qi + 20, 1]
                q210, q211 = q[qi + 21, 0], q[qi + 21, 1]
                q220, q221 = q[qi + 22, 0], q[qi + 22, 1]
                q230, q231 = q[qi + 23, 0], q[qi + 23, 1]
                q240, q241 = q[qi + 24, 0], q[qi + 24, 1]
                q250, q251 = q[qi + 25, 0], q[qi + 25, 1]
                q260, q261 = q[qi + 26, 0], q[qi + 26, 1]
                q270, q271 = q[qi + 27, 0], q[qi + 27, 1]
                q280, q281 = q[qi + 28, 0], q[qi + 28, 1]
                q290, q291 = q[qi + 29, 0], q[qi + 29, 1]
                q300, q301 = q[qi + 30, 0], q[qi + 30, 1]
                q310, q311 = q[qi + 31, 0], q[qi + 31, 1]
                hits = 0
                for j in range(b, be):
                    x0, x1 = h0[j], h1[j]
                    d00 = _popcount(x0 ^ q000) + _popcount(x1 ^ q001)
                    d01 = _popcount(x0 ^ q010) + _popcount(x1 ^ q011)
                    d02 = _popcount(x0 ^ q020) + _popcount(x1 ^ q021)
                    d03 = _popcount(x0 ^ q030) + _popcount(x1 ^ q031)
                    d04 = _popcount(x0 ^ q040) + _popcount(x1 ^ q041)
                    d05 = _popcount(x0 ^ q050) + _popcount(x1 ^ q051)
                    d06 = _popcount(x0 ^ q060) + _popcount(x1 ^ q061)
                    d07 = _popcount(x0 ^ q070) + _popcount(x1 ^ q071)
                    d08 = _popcount(x0 ^ q080) + _popcount(x1 ^ q081)
                    d09 = _popcount(x0 ^ q090) + _popcount(x1 ^ q091)
                    d10 = _popcount(x0 ^ q100) + _popcount(x1 ^ q101)
                    d11 = _popcount(x0 ^ q110) + _popcount(x1 ^ q111)
                    d12 = _popcount(x0 ^ q120) + _popcount(x1 ^ q121)
                    d13 = _popcount(x0 ^ q130) + _popcount(x1 ^ q131)
                    d14 = _popcount(x0 ^ q140) + _popcount(x1 ^ q141)
                    d15 = _popcount(x0 ^ q150) + _popcount(x1 ^ q151)
                    d16 = _popcount(x0 ^ q160) + _popcount(x1 ^ q161)
                    d17 = _popcount(x0 ^ q170) + _popcount(x1 ^ q171)
                    d18 = _popcount(x0 ^ q180) + _popcount(x1 ^ q181)
                    d19 = _popcount(x0 ^ q190) + _popcount(x1 ^ q191)
                    d20 = _popcount(x0 ^ q200) + _popcount(x1 ^ q201)
                    d21 = _popcount(x0 ^ q210) + _popcount(x1 ^ q211)
                    d22 = _popcount(x0 ^ q220) + _popcount(x1 ^ q221)
                    d23 = _popcount(x0 ^ q230) + _popcount(x1 ^ q231)
                    d24 = _popcount(x0 ^ q240) + _popcount(x1 ^ q241)
                    d25 = _popcount(x0 ^ q250) + _popcount(x1 ^ q251)
                    d26 = _popcount(x0 ^ q260) + _popcount(x1 ^ q261)
                    d27 = _popcount(x0 ^ q270) + _popcount(x1 ^ q271)
                    d28 = _popcount(x0 ^ q280) + _popcount(x1 ^ q281)
                    d29 = _popcount(x0 ^ q290) + _popcount(x1 ^ q291)
                    d30 = _popcount(x0 ^ q300) + _popcount(x1 ^ q301)
                    d31 = _popcount(x0 ^ q310) + _popcount(x1 ^ q311)
                    m000 = min(d00, d01)
                    m001 = min(d02, d03)
                    m002 = min(d04, d05)
                    m003 = min(d06, d07)
                    m004 = min(d08, d09)
                    m005 = min(d10, d11)
                    m006 = min(d12, d13)
                    m007 = min(d14, d15)
                    m008 = min(d16, d17)
                    m009 = min(d18, d19)
                    m010 = min(d20, d21)
                    m011 = min(d22, d23)
                    m012 = min(d24, d25)
                    m013 = min(d26, d27)
                    m014 = min(d28, d29)
                    m015 = min(d30, d31)
                    m100 = min(m000, m001)
                    m101 = min(m002, m003)
                    m102 = min(m004, m005)
                    m103 = min(m006, m007)
                    m104 = min(m008, m009)
                    m105 = min(m010, m011)
                    m106 = min(m012, m013)
                    m107 = min(m014, m015)
                    m200 = min(m100, m101)
                    m201 = min(m102, m103)
                    m202 = min(m104, m105)
                    m203 = min(m106, m107)
                    m300 = min(m200, m201)
                    m301 = min(m202, m203)
                    m = min(m300, m301)
                    hits += m <= radius
                if hits:
                    qe = min(qi + QUERY_BLOCK, nq)
                    k = _record(h, b, be, q, qi, qe, radius, c, k, out_q, out_row, out_d)
        counts[c] = k
    return counts, out_q, out_row, out_d


@njit(parallel=True, cache=True, error_model="numpy", fastmath=True)
def scan_full(h, starts, ends, q, nq, radius, cap):  # type: ignore[no-untyped-def]
    """``scan_prefix`` with all four words in the first stage, for radii above
    ``PREFIX_MAX_RADIUS`` where the 128-bit bound no longer prunes; same arguments and results.
    """
    counts, out_q, out_row, out_d = _outputs(starts.shape[0], cap)
    h0, h1, h2, h3 = h[0], h[1], h[2], h[3]
    for c in prange(starts.shape[0]):
        k = 0
        for b in range(starts[c], ends[c], SUB_BLOCK):
            be = min(ends[c], b + SUB_BLOCK)
            for qi in range(0, q.shape[0], QUERY_BLOCK):
                q000, q001, q002, q003 = q[qi + 0, 0], q[qi + 0, 1], q[qi + 0, 2], q[qi + 0, 3]
                q010, q011, q012, q013 = q[qi + 1, 0], q[qi + 1, 1], q[qi + 1, 2], q[qi + 1, 3]
                q020, q021, q022, q023 = q[qi + 2, 0], q[qi + 2, 1], q[qi + 2, 2], q[qi + 2, 3]
                q030, q031, q032, q033 = q[qi + 3, 0], q[qi + 3, 1], q[qi + 3, 2], q[qi + 3, 3]
                q040, q041, q042, q043 = q[qi + 4, 0], q[qi + 4, 1], q[qi + 4, 2], q[qi + 4, 3]
                q050, q051, q052, q053 = q[qi + 5, 0], q[qi + 5, 1], q[qi + 5, 2], q[qi + 5, 3]
                q060, q061, q062, q063 = q[qi + 6, 0], q[qi + 6, 1], q[qi + 6, 2], q[qi + 6, 3]
                q070, q071, q072, q073 = q[qi + 7, 0], q[qi + 7, 1], q[qi + 7, 2], q[qi + 7, 3]
                q080, q081, q082, q083 = q[qi + 8, 0], q[qi + 8, 1], q[qi + 8, 2], q[qi + 8, 3]
                q090, q091, q092, q093 = q[qi + 9, 0], q[qi + 9, 1], q[qi + 9, 2], q[qi + 9, 3]
                q100, q101, q102, q103 = q[qi + 10, 0], q[qi + 10, 1], q[qi + 10, 2], q[qi + 10, 3]
                q110, q111, q112, q113 = q[qi + 11, 0], q[qi + 11, 1], q[qi + 11, 2], q[qi + 11, 3]
                q120, q121, q122, q123 = q[qi + 12, 0], q[qi + 12, 1], q[qi + 12, 2], q[qi + 12, 3]
                q130, q131, q132, q133 = q[qi + 13, 0], q[qi + 13, 1], q[qi + 13, 2], q[qi + 13, 3]
                q140, q141, q142, q143 = q[qi + 14, 0], q[qi + 14, 1], q[qi + 14, 2], q[qi + 14, 3]
                q150, q151, q152, q153 = q[qi + 15, 0], q[qi + 15, 1], q[qi + 15, 2], q[qi + 15, 3]
                q160, q161, q162, q163 = q[qi + 16, 0], q[qi + 16, 1], q[qi + 16, 2], q[qi + 16, 3]
                q170, q171, q172, q173 = q[qi + 17, 0], q[qi + 17, 1], q[qi + 17, 2], q[qi + 17, 3]
                q180, q181, q182, q183 = q[qi + 18, 0], q[qi + 18, 1], q[qi + 18, 2], q[qi + 18, 3]
                q190, q191, q192, q193 = q[qi + 19, 0], q[qi + 19, 1], q[qi + 19, 2], q[qi + 19, 3]
                q200, q201, q202, q203 = q[qi + 20, 0], q[qi + 20, 1], q[qi + 20, 2], q[qi + 20, 3]
                q210, q211, q212, q213 = q[qi + 21, 0], q[qi + 21, 1], q[qi + 21, 2], q[qi + 21, 3]
                q220, q221, q222, q223 = q[qi + 22, 0], q[qi + 22, 1], q[qi + 22, 2], q[qi + 22, 3]
                q230, q231, q232, q233 = q[qi + 23, 0], q[qi + 23, 1], q[qi + 23, 2], q[qi + 23, 3]
                q240, q241, q242, q243 = q[qi + 24, 0], q[qi + 24, 1], q[qi + 24, 2], q[qi + 24, 3]
                q250, q251, q252, q253 = q[qi + 25, 0], q[qi + 25, 1], q[qi + 25, 2], q[qi + 25, 3]
                q260, q261, q262, q263 = q[qi + 26, 0], q[qi + 26, 1], q[qi + 26, 2], q[qi + 26, 3]
                q270, q271, q272, q273 = q[qi + 27, 0], q[qi + 27, 1], q[qi + 27, 2], q[qi + 27, 3]
                q280, q281, q282, q283 = q[qi + 28, 0], q[qi + 28, 1], q[qi + 28, 2], q[qi + 28, 3]
                q290, q291, q292, q293 = q[qi + 29, 0], q[qi + 29, 1], q[qi + 29, 2], q[qi + 29, 3]
                q300, q301, q302, q303 = q[qi + 30, 0], q[qi + 30, 1], q[qi + 30, 2], q[qi + 30, 3]
                q310, q311, q312, q313 = q[qi + 31, 0], q[qi + 31, 1], q[qi + 31, 2], q[qi + 31, 3]
                hits = 0
                for j in range(b, be):
                    x0, x1, x2, x3 = h0[j], h1[j], h2[j], h3[j]
                    d00 = _popcount(x0 ^ q000) + _popcount(x1 ^ q001)
                    d00 += _popcount(x2 ^ q002) + _popcount(x3 ^ q003)
                    d01 = _popcount(x0 ^ q010) + _popcount(x1 ^ q011)
                    d01 += _popcount(x2 ^ q012) + _popcount(x3 ^ q013)
                    d02 = _popcount(x0 ^ q020) + _popcount(x1 ^ q021)
                    d02 += _popcount(x2 ^ q022) + _popcount(x3 ^ q023)
                    d03 = _popcount(x0 ^ q030) + _popcount(x1 ^ q031)
                    d03 += _popcount(x2 ^ q032) + _popcount(x3 ^ q033)
                    d04 = _popcount(x0 ^ q040) + _popcount(x1 ^ q041)
                    d04 += _popcount(x2 ^ q042) + _popcount(x3 ^ q043)
                    d05 = _popcount(x0 ^ q050) + _popcount(x1 ^ q051)
                    d05 += _popcount(x2 ^ q052) + _popcount(x3 ^ q053)
                    d06 = _popcount(x0 ^ q060) + _popcount(x1 ^ q061)
                    d06 += _popcount(x2 ^ q062) + _popcount(x3 ^ q063)
                    d07 = _popcount(x0 ^ q070) + _popcount(x1 ^ q071)
                    d07 += _popcount(x2 ^ q072) + _popcount(x3 ^ q073)
                    d08 = _popcount(x0 ^ q080) + _popcount(x1 ^ q081)
                    d08 += _popcount(x2 ^ q082) + _popcount(x3 ^ q083)
                    d09 = _popcount(x0 ^ q090) + _popcount(x1 ^ q091)
                    d09 += _popcount(x2 ^ q092) + _popcount(x3 ^ q093)
                    d10 = _popcount(x0 ^ q100) + _popcount(x1 ^ q101)
                    d10 += _popcount(x2 ^ q102) + _popcount(x3 ^ q103)
                    d11 = _popcount(x0 ^ q110) + _popcount(x1 ^ q111)
                    d11 += _popcount(x2 ^ q112) + _popcount(x3 ^ q113)
                    d12 = _popcount(x0 ^ q120) + _popcount(x1 ^ q121)
                    d12 += _popcount(x2 ^ q122) + _popcount(x3 ^ q123)
                    d13 = _popcount(x0 ^ q130) + _popcount(x1 ^ q131)
                    d13 += _popcount(x2 ^ q132) + _popcount(x3 ^ q133)
                    d14 = _popcount(x0 ^ q140) + _popcount(x1 ^ q141)
                    d14 += _popcount(x2 ^ q142) + _popcount(x3 ^ q143)
                    d15 = _popcount(x0 ^ q150) + _popcount(x1 ^ q151)
                    d15 += _popcount(x2 ^ q152) + _popcount(x3 ^ q153)
                    d16 = _popcount(x0 ^ q160) + _popcount(x1 ^ q161)
                    d16 += _popcount(x2 ^ q162) + _popcount(x3 ^ q163)
                    d17 = _popcount(x0 ^ q170) + _popcount(x1 ^ q171)
                    d17 += _popcount(x2 ^ q172) + _popcount(x3 ^ q173)
                    d18 = _popcount(x0 ^ q180) + _popcount(x1 ^ q181)
                    d18 += _popcount(x2 ^ q182) + _popcount(x3 ^ q183)
                    d19 = _popcount(x0 ^ q190) + _popcount(x1 ^ q191)
                    d19 += _popcount(x2 ^ q192) + _popcount(x3 ^ q193)
                    d20 = _popcount(x0 ^ q200) + _popcount(x1 ^ q201)
                    d20 += _popcount(x2 ^ q202) + _popcount(x3 ^ q203)
                    d21 = _popcount(x0 ^ q210) + _popcount(x1 ^ q211)
                    d21 += _popcount(x2 ^ q212) + _popcount(x3 ^ q213)
                    d22 = _popcount(x0 ^ q220) + _popcount(x1 ^ q221)
                    d22 += _popcount(x2 ^ q222) + _popcount(x3 ^ q223)
                    d23 = _popcount(x0 ^ q230) + _popcount(x1 ^ q231)
                    d23 += _popcount(x2 ^ q232) + _popcount(x3 ^ q233)
                    d24 = _popcount(x0 ^ q240) + _popcount(x1 ^ q241)
                    d24 += _popcount(x2 ^ q242) + _popcount(x3 ^ q243)
                    d25 = _popcount(x0 ^ q250) + _popcount(x1 ^ q251)
                    d25 += _popcount(x2 ^ q252) + _popcount(x3 ^ q253)
                    d26 = _popcount(x0 ^ q260) + _popcount(x1 ^ q261)
                    d26 += _popcount(x2 ^ q262) + _popcount(x3 ^ q263)
                    d27 = _popcount(x0 ^ q270) + _popcount(x1 ^ q271)
                    d27 += _popcount(x2 ^ q272) + _popcount(x3 ^ q273)
                    d28 = _popcount(x0 ^ q280) + _popcount(x1 ^ q281)
                    d28 += _popcount(x2 ^ q282) + _popcount(x3 ^ q283)
                    d29 = _popcount(x0 ^ q290) + _popcount(x1 ^ q291)
                    d29 += _popcount(x2 ^ q292) + _popcount(x3 ^ q293)
                    d30 = _popcount(x0 ^ q300) + _popcount(x1 ^ q301)
                    d30 += _popcount(x2 ^ q302) + _popcount(x3 ^ q303)
                    d31 = _popcount(x0 ^ q310) + _popcount(x1 ^ q311)
                    d31 += _popcount(x2 ^ q312) + _popcount(x3 ^ q313)
                    m000 = min(d00, d01)
                    m001 = min(d02, d03)
                    m002 = min(d04, d05)
                    m003 = min(d06, d07)
                    m004 = min(d08, d09)
                    m005 = min(d10, d11)
                    m006 = min(d12, d13)
                    m007 = min(d14, d15)
                    m008 = min(d16, d17)
                    m009 = min(d18, d19)
                    m010 = min(d20, d21)
                    m011 = min(d22, d23)
                    m012 = min(d24, d25)
                    m013 = min(d26, d27)
                    m014 = min(d28, d29)
                    m015 = min(d30, d31)
                    m100 = min(m000, m001)
                    m101 = min(m002, m003)
                    m102 = min(m004, m005)
                    m103 = min(m006, m007)
                    m104 = min(m008, m009)
                    m105 = min(m010, m011)
                    m106 = min(m012, m013)
                    m107 = min(m014, m015)
                    m200 = min(m100, m101)
                    m201 = min(m102, m103)
                    m202 = min(m104, m105)
                    m203 = min(m106, m107)
                    m300 = min(m200, m201)
                    m301 = min(m202, m203)
                    m = min(m300, m301)
                    hits += m <= radius
                if hits:
                    qe = min(qi + QUERY_BLOCK, nq)
                    k = _record(h, b, be, q, qi, qe, radius, c, k, out_q, out_row, out_d)
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
