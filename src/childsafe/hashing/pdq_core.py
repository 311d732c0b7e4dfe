"""PDQ in numba, bit-exact with the ``pdqhash`` package (the oracle python-threatexchange uses).

Why a port rather than calling ``pdqhash``: pdqhash wants an RGB ``uint8`` array, so the fast
JPEG path (libjpeg-scaled luma, never expanded to RGB) could not use it, and it always computes
luma in float64 over the whole image. Hashes are storage keys shared with Meta's HMA, so the
port must agree bit for bit, which fixes every arithmetic detail below:

* every intermediate the reference keeps in ``float`` is float32 here, with the same operation
  order (the box filter's running sum adds the new sample *then* subtracts the old one, so a
  window of one is not the identity; the DCT accumulates k = 0..63 in order);
* the DCT matrix is built with libm ``cos`` in double and rounded to float32 once;
* the 64x64 downsample is two passes of a Jarosz box filter (rows then columns, window
  ``ceil(old / 128)``) followed by nearest-sample decimation; a 64x64 input skips the filter
  in :func:`pdq_from_luma` but not in :func:`pdq_dihedral_from_luma`, as in the reference;
* the median is Torben's selection algorithm, and a bit is set when its coefficient is
  strictly greater than the median; images under 5 pixels on a side hash to zero, quality 0.

The column box filter sweeps rows and keeps one running sum per column. Each column sees the
same sequence of float32 operations as the reference's strided loop, so the result is
identical while memory is read in order.

Hex strings follow python-threatexchange: bit ``k`` (coefficient ``16 * row + col``) is bit
``k`` of a 256-bit integer written as 64 lower-case hex digits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

_MIN_DIM = 5
_PASSES = 2


def _dct_matrix() -> npt.NDArray[np.float32]:
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    step = math.pi / 2.0 / 64.0
    out = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            out[i, j] = np.float32(scale * math.cos(step * (i + 1) * (2 * j + 1)))
    return out


_DCT = _dct_matrix()


@njit(cache=True)
def _box_rows(src, dst, window):  # type: ignore[no-untyped-def]
    rows, cols = src.shape
    half = (window + 2) // 2
    grow, full, slide = half - 1, window - half + 1, cols - window
    for r in range(rows):
        s = np.float32(0.0)
        n = 0
        ri = 0
        li = 0
        oi = 0
        for _ in range(grow):
            s += src[r, ri]
            n += 1
            ri += 1
        for _ in range(full):
            s += src[r, ri]
            n += 1
            dst[r, oi] = s / np.float32(n)
            ri += 1
            oi += 1
        for _ in range(slide):
            s += src[r, ri]
            s -= src[r, li]
            dst[r, oi] = s / np.float32(n)
            ri += 1
            li += 1
            oi += 1
        for _ in range(grow):
            s -= src[r, li]
            n -= 1
            dst[r, oi] = s / np.float32(n)
            li += 1
            oi += 1


@njit(cache=True)
def _box_cols(src, dst, window):  # type: ignore[no-untyped-def]
    rows, cols = src.shape
    half = (window + 2) // 2
    grow, full, slide = half - 1, window - half + 1, rows - window
    s = np.zeros(cols, dtype=np.float32)
    n = 0
    ri = 0
    li = 0
    oi = 0
    for _ in range(grow):
        for c in range(cols):
            s[c] += src[ri, c]
        n += 1
        ri += 1
    for _ in range(full):
        n += 1
        fn = np.float32(n)
        for c in range(cols):
            s[c] += src[ri, c]
            dst[oi, c] = s[c] / fn
        ri += 1
        oi += 1
    fn = np.float32(n)
    for _ in range(slide):
        for c in range(cols):
            s[c] += src[ri, c]
            s[c] -= src[li, c]
            dst[oi, c] = s[c] / fn
        ri += 1
        li += 1
        oi += 1
    for _ in range(grow):
        n -= 1
        fn = np.float32(n)
        for c in range(cols):
            s[c] -= src[li, c]
            dst[oi, c] = s[c] / fn
        li += 1
        oi += 1


@njit(cache=True)
def _quality(a):  # type: ignore[no-untyped-def]
    total = 0
    hundred = np.float32(100.0)
    scale = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            total += abs(int((a[i, j] - a[i + 1, j]) * hundred / scale))
    for i in range(64):
        for j in range(63):
            total += abs(int((a[i, j] - a[i, j + 1]) * hundred / scale))
    return min(total // 90, 100)


@njit(cache=True)
def _dct16(a, d):  # type: ignore[no-untyped-def]
    t = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            s = np.float32(0.0)
            for k in range(64):
                s += d[i, k] * a[k, j]
            t[i, j] = s
    b = np.empty((16, 16), dtype=np.float32)
    for i in range(16):
        for j in range(16):
            s = np.float32(0.0)
            for k in range(64):
                s += t[i, k] * d[j, k]
            b[i, j] = s
    return b


@njit(cache=True)
def _dct_and_quality(luma, force_filter, d):  # type: ignore[no-untyped-def]
    rows, cols = luma.shape
    if rows == 64 and cols == 64 and not force_filter:
        small = luma.copy()
    else:
        buf1 = luma.copy()
        buf2 = np.empty_like(buf1)
        wr = (cols + 127) // 128
        wc = (rows + 127) // 128
        for _ in range(_PASSES):
            _box_rows(buf1, buf2, wr)
            _box_cols(buf2, buf1, wc)
        small = np.empty((64, 64), dtype=np.float32)
        for oi in range(64):
            ii = int(((oi + 0.5) * rows) / 64)
            for oj in range(64):
                jj = int(((oj + 0.5) * cols) / 64)
                small[oi, oj] = buf1[ii, jj]
    return _dct16(small, d), _quality(small)


@njit(cache=True)
def _torben(m):  # type: ignore[no-untyped-def]
    n = m.size
    lo = m[0]
    hi = m[0]
    for i in range(1, n):
        lo = min(lo, m[i])
        hi = max(hi, m[i])
    half = (n + 1) // 2
    two = np.float32(2.0)
    while True:
        guess = (lo + hi) / two
        less = 0
        greater = 0
        equal = 0
        max_lt = lo
        min_gt = hi
        for i in range(n):
            v = m[i]
            if v < guess:
                less += 1
                if v > max_lt:
                    max_lt = v
            elif v > guess:
                greater += 1
                if v < min_gt:
                    min_gt = v
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= half:
        return max_lt
    if less + equal >= half:
        return guess
    return min_gt


@njit(cache=True)
def _words(b):  # type: ignore[no-untyped-def]
    flat = b.ravel()
    med = _torben(flat)
    w = np.zeros(16, dtype=np.uint16)
    for k in range(256):
        if flat[k] > med:
            w[k >> 4] |= np.uint16(1 << (k & 15))
    return w


@njit(cache=True)
def _dihedral_words(b):  # type: ignore[no-untyped-def]
    out = np.zeros((8, 16), dtype=np.uint16)
    aux = np.empty((16, 16), dtype=np.float32)
    out[0] = _words(b)
    for v in range(1, 8):
        for i in range(16):
            for j in range(16):
                x = b[i, j]
                if v == 1:  # rotate 90
                    aux[j, i] = x if j & 1 else -x
                elif v == 2:  # rotate 180
                    aux[i, j] = -x if (i + j) & 1 else x
                elif v == 3:  # rotate 270
                    aux[j, i] = x if i & 1 else -x
                elif v == 4:  # flip x
                    aux[i, j] = x if i & 1 else -x
                elif v == 5:  # flip y
                    aux[i, j] = x if j & 1 else -x
                elif v == 6:  # flip about the main diagonal
                    aux[j, i] = x
                else:  # flip about the anti-diagonal
                    aux[j, i] = -x if (i + j) & 1 else x
        out[v] = _words(aux)
    return out


@njit(cache=True)
def _luma_from_rgb(rgb):  # type: ignore[no-untyped-def]
    rows, cols = rgb.shape[0], rgb.shape[1]
    out = np.empty((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            y = (
                np.float64(rgb[i, j, 0]) * 0.299
                + np.float64(rgb[i, j, 1]) * 0.587
                + np.float64(rgb[i, j, 2]) * 0.114
            )
            out[i, j] = np.float32(y)
    return out


def _hex(words: npt.NDArray[np.uint16]) -> str:
    return "".join(f"{int(w):04x}" for w in words[::-1])


def _prepare(luma: npt.ArrayLike) -> npt.NDArray[np.float32]:
    arr = np.ascontiguousarray(luma, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"luma must be a 2-D array, got shape {arr.shape}")
    return arr


def pdq_from_luma(luma: npt.ArrayLike) -> tuple[str, int]:
    """PDQ hash (64 hex chars) and quality (0-100) of a 2-D float32 luma image (0-255)."""
    arr = _prepare(luma)
    if min(arr.shape) < _MIN_DIM:
        return "0" * 64, 0
    b, quality = _dct_and_quality(arr, False, _DCT)
    return _hex(_words(b)), int(quality)


def pdq_dihedral_from_luma(luma: npt.ArrayLike) -> tuple[list[str], int]:
    """The 8 dihedral PDQ hashes from one DCT: original, rot 90/180/270, flip x/y/+1/-1."""
    arr = _prepare(luma)
    if min(arr.shape) < _MIN_DIM:
        return ["0" * 64] * 8, 0
    b, quality = _dct_and_quality(arr, True, _DCT)
    words = _dihedral_words(b)
    return [_hex(words[v]) for v in range(8)], int(quality)


def luma_from_rgb(rgb: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Luma as pdqhash computes it: 0.299 R + 0.587 G + 0.114 B in float64, then float32.

    Greyscale (2-D) input goes through the same formula, as pdqhash sees it stacked to RGB.
    """
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = arr[:, :, None].repeat(3, axis=2)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"rgb must be HxWx3 (or HxWx4), got shape {arr.shape}")
    return _luma_from_rgb(np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8))  # type: ignore[no-any-return]


def pdq_from_rgb(rgb: npt.ArrayLike) -> tuple[str, int]:
    """PDQ hash and quality of an HxWx3 ``uint8`` image, equal to ``pdqhash.compute``."""
    return pdq_from_luma(luma_from_rgb(rgb))


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
