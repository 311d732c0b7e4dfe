"""Numba passes over Arrow string columns: BLAKE2b-64 ids and line-break checks for the
merge, hash cells to keys for the fast path.

Why here and not ``hashlib`` in a loop: the merge looks at every item id of a scan twice —
the duplicate counter hashes it (unkeyed BLAKE2b, 8 bytes) and the decoy draw gives every
kept id a seeded priority (BLAKE2b keyed with the seed, 8 bytes). In Python that was
~0.55 µs per id per use plus the list of ``str`` objects, the largest part of a hashes-only
merge. These kernels read Arrow's ``offsets`` + ``data`` buffers directly and compute the
*same* digests (RFC 7693, checked against ``hashlib.blake2b`` in
``tests/scan/test_columnar.py``), so every output stays byte-identical to the per-row code.
They release the GIL: the merge runs on a thread beside the shards (``scan.background``).

All functions take ``offsets`` (int32 or int64, length n + 1, absolute into ``data``) and
``data`` (uint8): see :func:`string_buffers`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

_IV = np.array(
    [
        0x6A09E667F3BCC908,
        0xBB67AE8584CAA73B,
        0x3C6EF372FE94F82B,
        0xA54FF53A5F1D36F1,
        0x510E527FADE682D1,
        0x9B05688C2B3E6C1F,
        0x1F83D9ABFB41BD6B,
        0x5BE0CD19137E2179,
    ],
    dtype=np.uint64,
)
_SIGMA = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    ],
    dtype=np.int64,
)


@njit(cache=True, inline="always")
def _rotr(x, n):  # type: ignore[no-untyped-def]
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(cache=True, inline="always")
def _g(a, b, c, d, x, y):  # type: ignore[no-untyped-def]
    a = a + b + x
    d = _rotr(d ^ a, 32)
    c = c + d
    b = _rotr(b ^ c, 24)
    a = a + b + y
    d = _rotr(d ^ a, 16)
    c = c + d
    b = _rotr(b ^ c, 63)
    return a, b, c, d


@njit(cache=True)
def _compress(h, m, t, last, iv, sigma):  # type: ignore[no-untyped-def]
    """BLAKE2b's F: mixes one 128-byte block ``m`` (16 words) into ``h`` in place.

    The state lives in 16 scalars (not an array) so LLVM keeps it in registers: indexing a
    state array through a table of positions ran at half the speed.
    """
    v0, v1, v2, v3, v4, v5, v6, v7 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    v8, v9, v10, v11, v12, v13, v14, v15 = iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6], iv[7]
    v12 ^= t
    if last:
        v14 = ~v14
    for r in range(12):
        s = sigma[r]
        v0, v4, v8, v12 = _g(v0, v4, v8, v12, m[s[0]], m[s[1]])
        v1, v5, v9, v13 = _g(v1, v5, v9, v13, m[s[2]], m[s[3]])
        v2, v6, v10, v14 = _g(v2, v6, v10, v14, m[s[4]], m[s[5]])
        v3, v7, v11, v15 = _g(v3, v7, v11, v15, m[s[6]], m[s[7]])
        v0, v5, v10, v15 = _g(v0, v5, v10, v15, m[s[8]], m[s[9]])
        v1, v6, v11, v12 = _g(v1, v6, v11, v12, m[s[10]], m[s[11]])
        v2, v7, v8, v13 = _g(v2, v7, v8, v13, m[s[12]], m[s[13]])
        v3, v4, v9, v14 = _g(v3, v4, v9, v14, m[s[14]], m[s[15]])
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


@njit(cache=True)
def _load(m, data, start, end):  # type: ignore[no-untyped-def]
    """``data[start:end]`` (at most 128 bytes), zero-padded, as 16 little-endian words."""
    for i in range(16):
        m[i] = np.uint64(0)
    for j in range(end - start):
        m[j >> 3] |= np.uint64(data[start + j]) << np.uint64(8 * (j & 7))


@njit(cache=True, nogil=True)
def _blake2b64(offsets, data, h0, t0, empty, iv, sigma):  # type: ignore[no-untyped-def]
    n = offsets.shape[0] - 1
    out = np.empty(n, np.uint64)
    h = np.empty(8, np.uint64)
    m = np.empty(16, np.uint64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        if end == start:
            out[i] = empty
            continue
        for k in range(8):
            h[k] = h0[k]
        t = np.uint64(t0)
        while end - start > 128:  # every block but the last
            _load(m, data, start, start + 128)
            t += np.uint64(128)
            _compress(h, m, t, False, iv, sigma)
            start += 128
        _load(m, data, start, end)
        t += np.uint64(end - start)
        _compress(h, m, t, True, iv, sigma)
        # the digest's first 8 bytes are h[0] little-endian; callers read them big-endian
        x = h[0]
        r = np.uint64(0)
        for _ in range(8):
            r = (r << np.uint64(8)) | (x & np.uint64(0xFF))
            x >>= np.uint64(8)
        out[i] = r
    return out


def blake2b64(offsets: np.ndarray, data: np.ndarray, key: bytes = b"") -> np.ndarray:
    """``int.from_bytes(blake2b(s, key=key, digest_size=8).digest(), "big")`` per string."""
    if len(key) > 64:  # hashlib's own error, worded by hashlib
        hashlib.blake2b(b"", key=key, digest_size=8)
    h = _IV.copy()
    h[0] ^= np.uint64(0x01010000 ^ (len(key) << 8) ^ 8)
    t0 = 0
    if key:  # the key is the first block; its compression is the same for every message
        m = np.empty(16, np.uint64)
        block = np.frombuffer(key, np.uint8)
        _load(m, block, 0, len(block))
        _compress(h, m, np.uint64(128), False, _IV, _SIGMA)
        t0 = 128
    empty = int.from_bytes(hashlib.blake2b(b"", key=key, digest_size=8).digest(), "big")
    return _blake2b64(  # type: ignore[no-any-return]
        offsets, data, h, t0, np.uint64(empty), _IV, _SIGMA
    )


@njit(cache=True, nogil=True)
def _unlistable(offsets, data):  # type: ignore[no-untyped-def]
    n = offsets.shape[0] - 1
    out = np.zeros(n, np.bool_)
    for i in range(n):
        end = offsets[i + 1]
        for j in range(offsets[i], end):
            c = data[j]
            if c == 10 or c == 13 or c == 0 or c == 11 or c == 12 or c == 28 or c == 29:
                out[i] = True
                break
            if c == 30:
                out[i] = True
                break
            if c == 0xC2 and j + 1 < end and data[j + 1] == 0x85:  # U+0085
                out[i] = True
                break
            if (  # U+2028, U+2029
                c == 0xE2
                and j + 2 < end
                and data[j + 1] == 0x80
                and (data[j + 2] == 0xA8 or data[j + 2] == 0xA9)
            ):
                out[i] = True
                break
    return out


def unlistable(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """``not clean.listable(s)`` per UTF-8 string: a line break or NUL somewhere in it."""
    return _unlistable(offsets, data)  # type: ignore[no-any-return]


def string_buffers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of a string or binary column, zero-copy.

    Offsets keep their stored width (int32, or int64 for the ``large_`` types; the kernels
    here take either) and index ``data`` directly (a sliced array's offset already applied);
    null cells read as empty strings, so callers mask them with the validity themselves.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], np.int64 if wide else np.int32)
    offsets = offsets[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


@njit(cache=True, inline="always")
def _nibble(c):  # type: ignore[no-untyped-def]
    """A lower-case hex digit's value, or 16 for any other byte (arithmetic: vectorises)."""
    v = np.int32(c) - 48
    v = v if v < 10 else np.int32(c) - 87
    return v if (v >= 0) & (v < 16) & ((c <= 57) | (c >= 97)) else 16


@njit(cache=True, nogil=True)
def _hex_keys(offsets, data, valid, nhex, decode):  # type: ignore[no-untyped-def]
    n = offsets.shape[0] - 1
    present = np.zeros(n, np.bool_)
    ok = np.zeros(n, np.bool_)
    keys = np.empty((n if decode else 0, nhex // 2), np.uint8)
    k = 0
    for i in range(n):
        s, e = offsets[i], offsets[i + 1]
        if not valid[i] or e == s:
            continue
        present[i] = True
        if e - s != nhex:
            continue
        bad = 0
        if decode:
            for j in range(nhex // 2):
                hi, lo = _nibble(data[s + 2 * j]), _nibble(data[s + 2 * j + 1])
                bad |= hi | lo
                keys[k, j] = np.uint8(((hi << 4) | lo) & 255)
        else:
            for j in range(nhex):
                bad |= _nibble(data[s + j])
        if bad < 16:
            ok[i] = True
            k += 1
    return present, ok, keys[:k]


def hex_keys(
    arr: pa.Array, nhex: int, decode: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(present, ok, keys)`` of a hash column in one pass over its buffers.

    ``present``: non-null and non-empty; ``ok``: exactly ``nhex`` lower-case hex digits
    (canonical); ``keys``: the ok cells decoded, ``(count, nhex // 2)`` uint8 in row order,
    or none at all with ``decode=False`` (a type no bank holds is only checked).
    Replaces a length pass, a filter, a cast and a decode (three copies of the column).
    """
    n = len(arr)
    if arr.null_count == n:
        return np.zeros(n, np.bool_), np.zeros(n, np.bool_), np.empty((0, nhex // 2), np.uint8)
    offsets, data = string_buffers(arr)
    valid = np.asarray(pc.is_valid(arr), np.bool_) if arr.null_count else np.ones(n, np.bool_)
    return _hex_keys(offsets, data, valid, nhex, decode)  # type: ignore[no-any-return]
