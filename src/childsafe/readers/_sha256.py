"""SHA-256 of every cell of an Arrow binary column, as hex, in one numba pass.

Why: a table scan records each caption by its SHA-256 (``caption_sha256``) and never the
text (DESIGN rule 2). ``hashlib`` per row cost ~0.45 µs (a ``bytes`` object, the call, a hex
``str`` and an Arrow cell each), the largest per-row cost of a hashes-only scan's reader.
Here the digests are computed straight from Arrow's offsets and data buffers and written as
hex into the buffer of the output column: the same digests (FIPS 180-4; checked against
``hashlib`` in ``tests/readers/test_sha256.py``), ~0.1 µs per short caption on one core.

How: messages are sorted by their number of 64-byte blocks and hashed ``LANES`` at a time,
each step of the compression written as a loop over the lanes, so the CPU runs the lanes
side by side (SIMD or at least instruction-level parallelism); one message per loop ran at
half the speed. All state lives in one array (message schedule rows 0-63, working variables
64-71) because with a single base pointer the compiler can see that the rows never overlap.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

LANES = 16
MAX_ROWS = (2**31 - 1) // 64

_K = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4,
        0xAB1C5ED5, 0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE,
        0x9BDC06A7, 0xC19BF174, 0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F,
        0x4A7484AA, 0x5CB0A9DC, 0x76F988DA, 0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7,
        0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967, 0x27B70A85, 0x2E1B2138, 0x4D2C6DFC,
        0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85, 0xA2BFE8A1, 0xA81A664B,
        0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070, 0x19A4C116,
        0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7,
        0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
_H0 = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB,
     0x5BE0CD19],
    dtype=np.uint32,
)  # fmt: skip
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8).copy()


@njit(cache=True, inline="always")
def _rotr(x, n):  # type: ignore[no-untyped-def]
    return (x >> np.uint32(n)) | (x << np.uint32(32 - n))


@njit(cache=True, inline="always")
def _round(x, t, i, kt):  # type: ignore[no-untyped-def]
    """Round ``t`` on every lane; ``i = t % 8`` renames the working variables (no shifting)."""
    a, b, c, d = 64 + (8 - i) % 8, 64 + (9 - i) % 8, 64 + (10 - i) % 8, 64 + (11 - i) % 8
    e, f, g, h = 64 + (12 - i) % 8, 64 + (13 - i) % 8, 64 + (14 - i) % 8, 64 + (15 - i) % 8
    for lane in range(LANES):
        ee, aa, bb, cc = x[e, lane], x[a, lane], x[b, lane], x[c, lane]
        t1 = x[h, lane] + (_rotr(ee, 6) ^ _rotr(ee, 11) ^ _rotr(ee, 25))
        t1 += ((ee & x[f, lane]) ^ (~ee & x[g, lane])) + kt + x[t, lane]
        t2 = (_rotr(aa, 2) ^ _rotr(aa, 13) ^ _rotr(aa, 22)) + ((aa & bb) ^ (aa & cc) ^ (bb & cc))
        x[d, lane] += t1
        x[h, lane] = t1 + t2


@njit(cache=True)
def _load(x, lane, data, start, size, block, last):  # type: ignore[no-untyped-def]
    """Words 0-15 of ``block`` of the padded message ``data[start:start + size]``.

    Only the message's own bytes are visited (most captions fill a fraction of a block).
    """
    base = block * 64
    for j in range(16):
        x[j, lane] = np.uint32(0)
    for q in range(max(0, min(size - base, 64))):
        byte = np.uint32(data[start + base + q])
        x[q >> 2, lane] |= byte << np.uint32(24 - 8 * (q & 3))
    pad = size - base  # where the 0x80 terminator goes, if in this block
    if 0 <= pad < 64:
        x[pad >> 2, lane] |= np.uint32(0x80) << np.uint32(24 - 8 * (pad & 3))
    if last:
        bits = np.uint64(size) * np.uint64(8)
        x[14, lane] = np.uint32(bits >> np.uint64(32))
        x[15, lane] = np.uint32(bits & np.uint64(0xFFFFFFFF))


@njit(cache=True, nogil=True)
def _sha256_hex(offsets, data, rows, blocks, out_offsets, out, k, h0, hexchars):  # type: ignore[no-untyped-def]
    """Hex digests of the messages ``rows`` (sorted by ``blocks``) into ``out``."""
    x = np.zeros((72, LANES), np.uint32)
    state = np.empty((8, LANES), np.uint32)
    n = rows.shape[0]
    for g in range(0, n, LANES):
        m = min(LANES, n - g)
        top = blocks[rows[g + m - 1]]  # sorted: the group's last message is its longest
        for j in range(8):
            for lane in range(LANES):
                state[j, lane] = h0[j]
        for block in range(top):
            for lane in range(LANES):
                r = rows[g + lane] if lane < m else rows[g]
                start = offsets[r]
                _load(x, lane, data, start, offsets[r + 1] - start, block, block == blocks[r] - 1)
            for t in range(16, 64):
                for lane in range(LANES):
                    w15, w2 = x[t - 15, lane], x[t - 2, lane]
                    s0 = _rotr(w15, 7) ^ _rotr(w15, 18) ^ (w15 >> np.uint32(3))
                    s1 = _rotr(w2, 17) ^ _rotr(w2, 19) ^ (w2 >> np.uint32(10))
                    x[t, lane] = x[t - 16, lane] + s0 + x[t - 7, lane] + s1
            for j in range(8):
                for lane in range(LANES):
                    x[64 + j, lane] = state[j, lane]
            for t in range(0, 64, 8):
                _round(x, t, 0, k[t])
                _round(x, t + 1, 1, k[t + 1])
                _round(x, t + 2, 2, k[t + 2])
                _round(x, t + 3, 3, k[t + 3])
                _round(x, t + 4, 4, k[t + 4])
                _round(x, t + 5, 5, k[t + 5])
                _round(x, t + 6, 6, k[t + 6])
                _round(x, t + 7, 7, k[t + 7])
            for lane in range(m):
                if block < blocks[rows[g + lane]]:  # a shorter message is already final
                    for j in range(8):
                        state[j, lane] += x[64 + j, lane]
        for lane in range(m):
            pos = out_offsets[rows[g + lane]]
            for j in range(8):
                word = state[j, lane]
                for q in range(4):
                    byte = (word >> np.uint32(24 - 8 * q)) & np.uint32(0xFF)
                    out[pos + 8 * j + 2 * q] = hexchars[byte >> np.uint32(4)]
                    out[pos + 8 * j + 2 * q + 1] = hexchars[byte & np.uint32(0xF)]


def _by_length(blocks: np.ndarray) -> np.ndarray | slice:
    """An order that sorts ``blocks``; 16-bit keys take NumPy's radix sort, not a merge sort."""
    if not len(blocks) or blocks.min() == blocks.max():
        return slice(None)
    if blocks.max() < 1 << 16:
        blocks = blocks.astype(np.uint16)
    return np.argsort(blocks, kind="stable")


def sha256_hex(arr: pa.Array) -> pa.Array:
    """``hashlib.sha256(cell).hexdigest()`` of every cell, as a string column (null: null).

    ``arr`` is a binary or string column (32- or 64-bit offsets, sliced or not); strings
    are hashed as their UTF-8 bytes. One call takes a batch: at most ``MAX_ROWS`` cells, so
    the 64-byte digests fit a string column's 32-bit offsets.
    """
    n = len(arr)
    if n > MAX_ROWS:
        raise ValueError(f"sha256_hex takes at most {MAX_ROWS:,} cells per call, not {n:,}")
    t = arr.type
    if not (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_string(t)
            or pa.types.is_large_string(t)):  # fmt: skip
        raise TypeError(f"sha256_hex needs a binary or string column, not {t}")
    wide = pa.types.is_large_binary(t) or pa.types.is_large_string(t)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[
        arr.offset : arr.offset + n + 1
    ]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(pc.is_valid(arr), np.bool_) if arr.null_count else np.ones(n, np.bool_)
    rows = np.flatnonzero(valid)
    blocks = (np.diff(offsets).astype(np.int64) + 8) // 64 + 1  # padding adds 9+ bytes
    rows = rows[_by_length(blocks[rows])]
    out_offsets = np.zeros(n + 1, np.int32)
    np.cumsum(valid * np.int32(64), out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), np.uint8)
    if len(rows):
        _sha256_hex(offsets, data, rows, blocks, out_offsets, out, _K, _H0, _HEX)
    nulls = n - len(rows)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(out_offsets), pa.py_buffer(out), bitmap, nulls
    )
