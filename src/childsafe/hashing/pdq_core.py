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

Speed without changing a bit (see :func:`_downsample`): the filter is the whole cost of PDQ on a
photo, so it only computes what the 64x64 decimation reads, streams rows through small
buffers instead of materialising four full-size float images, runs the row sums of 8 rows
side by side, and for 8-bit input (the JPEG fast path) gets the first row pass from exact
integer prefix sums. The filter and DCT kernels use ``error_model="numpy"`` so that numba does
not guard each float division with a zero check (no divisor here is zero); that guard is what
kept the divisions scalar. ``fastmath`` is never used: it would let LLVM reassociate sums.

Hex strings follow python-threatexchange: bit ``k`` (coefficient ``16 * row + col``) is bit
``k`` of a 256-bit integer written as 64 lower-case hex digits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from childsafe.hashing import _jit

_jit.prepare()  # before the first kernel call makes numba load its registries (see _jit)

_MIN_DIM = 5


def _dct_matrix() -> npt.NDArray[np.float32]:
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    step = math.pi / 2.0 / 64.0
    out = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            out[i, j] = np.float32(scale * math.cos(step * (i + 1) * (2 * j + 1)))
    return out


_DCT = _dct_matrix()


_LANES = 8  # rows whose running sums advance together (independent chains hide latency)
_EXACT_MAX_COLS = 1 << 23  # beyond this, 255 * window might reach 2**24 (see _row_box_exact)


@njit(cache=True, error_model="numpy")
def _sample_index(count):  # type: ignore[no-untyped-def]
    """The reference's nearest-sample decimation: row/column ``int((i + 0.5) * count / 64)``."""
    out = np.empty(64, dtype=np.int64)
    for i in range(64):
        out[i] = int(((i + 0.5) * count) / 64)
    return out


@njit(cache=True, error_model="numpy")
def _box_counts(count, window):  # type: ignore[no-untyped-def]
    """How many samples the reference's box filter has summed when it emits output ``o``.

    The reference grows its window for ``half - 1`` samples, slides it, then shrinks it, so
    output ``o`` averages samples ``o - (window - half)`` to ``o + half - 1`` clipped to the
    array: the same count it divides by, as a float32.
    """
    half = (window + 2) // 2
    out = np.empty(count, dtype=np.float32)
    for o in range(count):
        out[o] = np.float32(min(count - 1, o + half - 1) - max(0, o - (window - half)) + 1)
    return out


@njit(cache=True, error_model="numpy")
def _row_sums(src, out, window, sel):  # type: ignore[no-untyped-def]
    """Running row sums of the box filter, kept only at columns ``sel``: ``out[r, k]``.

    The float32 sum of each row is advanced exactly as the reference does (add the incoming
    sample, then subtract the outgoing one), so each stored value is the reference's ``s``
    bit for bit; the caller divides by the count. Division is left out of this loop because it
    is the one operation that vectorises when done afterwards over a whole row.

    A row's sums are one long dependency chain (3-4 cycles per add), so 8 rows advance
    together as independent chains; a tail of fewer than 8 rows repeats the last row, which
    writes the same values twice. Outputs not in ``sel`` are never formed: for the second row
    pass only the 64 sampled columns are kept, though every sample is still summed.
    """
    rows, cols = src.shape
    grow = (window + 2) // 2 - 1
    last = rows - 1
    for r in range(0, rows, _LANES):
        a0 = src[r]
        a1 = src[min(r + 1, last)]
        a2 = src[min(r + 2, last)]
        a3 = src[min(r + 3, last)]
        a4 = src[min(r + 4, last)]
        a5 = src[min(r + 5, last)]
        a6 = src[min(r + 6, last)]
        a7 = src[min(r + 7, last)]
        o0 = out[r]
        o1 = out[min(r + 1, last)]
        o2 = out[min(r + 2, last)]
        o3 = out[min(r + 3, last)]
        o4 = out[min(r + 4, last)]
        o5 = out[min(r + 5, last)]
        o6 = out[min(r + 6, last)]
        o7 = out[min(r + 7, last)]
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
        t = 0  # next sample to take in (or, past the end, the step of the shrinking phase)
        for k in range(sel.size):
            end = sel[k] + grow + 1  # output o is emitted after step o + grow
            while t < min(end, window):  # growing: add only
                s0 += a0[t]
                s1 += a1[t]
                s2 += a2[t]
                s3 += a3[t]
                s4 += a4[t]
                s5 += a5[t]
                s6 += a6[t]
                s7 += a7[t]
                t += 1
            while t < min(end, cols):  # sliding: add, then subtract
                u = t - window
                s0 += a0[t]
                s1 += a1[t]
                s2 += a2[t]
                s3 += a3[t]
                s4 += a4[t]
                s5 += a5[t]
                s6 += a6[t]
                s7 += a7[t]
                s0 -= a0[u]
                s1 -= a1[u]
                s2 -= a2[u]
                s3 -= a3[u]
                s4 -= a4[u]
                s5 -= a5[u]
                s6 -= a6[u]
                s7 -= a7[u]
                t += 1
            while t < end:  # shrinking: subtract only
                u = t - window
                s0 -= a0[u]
                s1 -= a1[u]
                s2 -= a2[u]
                s3 -= a3[u]
                s4 -= a4[u]
                s5 -= a5[u]
                s6 -= a6[u]
                s7 -= a7[u]
                t += 1
            o0[k] = s0
            o1[k] = s1
            o2[k] = s2
            o3[k] = s3
            o4[k] = s4
            o5[k] = s5
            o6[k] = s6
            o7[k] = s7


@njit(cache=True, error_model="numpy")
def _divide_rows(a, counts):  # type: ignore[no-untyped-def]
    """``a[r, k] /= counts[k]`` in float32, vectorised across ``k``."""
    for r in range(a.shape[0]):
        row = a[r]
        for k in range(row.size):
            row[k] = row[k] / counts[k]


@njit(cache=True, error_model="numpy")
def _row_box_exact(src, dst, window, prefix, counts):  # type: ignore[no-untyped-def]
    """First row pass for integer samples in 0..255 (8-bit luma), from int32 prefix sums.

    On such input every partial sum the reference forms is an integer below
    255 * (window + 1) < 2**24, so its float32 running sum makes no rounding error at all and
    equals the exact window sum, which prefix sums give in any order. The quotient is the
    same float32 division. This replaces a serial float chain per row by an integer scan and
    a vectorised subtract-and-divide. Callers keep ``cols <= _EXACT_MAX_COLS``.
    """
    rows, cols = src.shape
    half = (window + 2) // 2
    ahead = half - 1  # output o sums samples o - behind .. o + ahead
    behind = window - half
    lo_end = min(behind, cols)  # outputs before this are clipped on the left
    hi_start = max(cols - ahead, lo_end)  # outputs from this on are clipped on the right
    inner = hi_start - lo_end
    for r in range(rows):
        row = src[r]
        out = dst[r]
        acc = np.int32(0)
        prefix[0] = 0
        for j in range(cols):
            acc += np.int32(row[j])
            prefix[j + 1] = acc
        upper = prefix[lo_end + ahead + 1 : lo_end + ahead + 1 + inner]
        lower = prefix[0:inner]
        out_in = out[lo_end:hi_start]
        counts_in = counts[lo_end:hi_start]
        for o in range(inner):
            out_in[o] = np.float32(upper[o] - lower[o]) / counts_in[o]
        for o in range(lo_end):
            out[o] = np.float32(prefix[min(cols - 1, o + ahead) + 1]) / counts[o]
        for o in range(hi_start, cols):
            out[o] = np.float32(prefix[cols] - prefix[o - behind]) / counts[o]


@njit(cache=True, error_model="numpy")
def _col_sums_sampled(src, out, window, sel, counts):  # type: ignore[no-untyped-def]
    """Last column pass, kept only at rows ``sel``: ``out[k, :]``, vectorised across columns."""
    rows, cols = src.shape
    grow = (window + 2) // 2 - 1
    s = np.zeros(cols, dtype=np.float32)
    k = 0
    for t in range(sel[sel.size - 1] + grow + 1):
        if t < rows:
            x = src[t]
            for c in range(cols):
                s[c] += x[c]
        if t >= window:
            y = src[t - window]
            for c in range(cols):
                s[c] -= y[c]
        while k < sel.size and sel[k] == t - grow:
            fn = counts[sel[k]]
            row = out[k]
            for c in range(cols):
                row[c] = s[c] / fn
            k += 1


@njit(cache=True, error_model="numpy")
def _is_grey8(a):  # type: ignore[no-untyped-def]
    """Whether every sample is an integer in 0..255 (so :func:`_row_box_exact` applies)."""
    rows, cols = a.shape
    for i in range(rows):
        row = a[i]
        bad = False
        for j in range(cols):
            v = row[j]
            bad |= not (v >= 0 and v <= 255 and v == np.floor(v))
        if bad:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _downsample(luma, exact):  # type: ignore[no-untyped-def]
    """The reference's 64x64 image: box filter rows, columns, rows, columns, then decimate.

    Bit-exact, but only what the decimation reads is computed, in one streaming sweep:

    1. first row pass, 8 rows at a time, into a ring of ``window + 8`` rows
       (:func:`_row_box_exact` for 8-bit input, else :func:`_row_sums` then a divide);
    2. first column pass as it goes: one running sum per column, vectorised across columns,
       each output row going into an 8-row block;
    3. second row pass on each full block, summing every sample but keeping (and dividing)
       only the 64 sampled columns;
    4. second column pass on that ``rows x 64`` array, kept at the 64 sampled rows.

    Each kept value depends on every earlier sample of its float running sum (rounding errors
    accumulate along the row), which is why sums are still advanced over whole rows and
    columns; what is skipped is forming, dividing and storing outputs nobody reads, plus
    three full-size float images and their trips through memory. Row and column order,
    window sizes and every float32 operation are the reference's.
    """
    rows, cols = luma.shape
    wr = (cols + 127) // 128
    wc = (rows + 127) // 128
    col_counts = _box_counts(cols, wr)
    row_counts = _box_counts(rows, wc)
    sel_c = _sample_index(cols)
    sel_r = _sample_index(rows)
    all_cols = np.arange(cols)
    prefix = np.empty(cols + 1, dtype=np.int32)
    # Step t adds first-pass row t and subtracts row t - wc, and rows are produced 8 ahead:
    # rows t - wc .. t + 7 are live, and a multiple of 8 keeps each block of 8 contiguous.
    ring_rows = _LANES * ((wc + 2 * _LANES - 1) // _LANES)
    ring = np.empty((ring_rows, cols), dtype=np.float32)
    block = np.empty((_LANES, cols), dtype=np.float32)
    sampled = np.empty((rows, 64), dtype=np.float32)
    s = np.zeros(cols, dtype=np.float32)
    grow = (wc + 2) // 2 - 1
    produced = 0
    for t in range(rows + grow):
        if t < rows:
            if t == produced:  # first row pass for the next 8 rows
                n = min(_LANES, rows - t)
                dst = ring[t % ring_rows : t % ring_rows + n]
                if exact:
                    _row_box_exact(luma[t : t + n], dst, wr, prefix, col_counts)
                else:
                    _row_sums(luma[t : t + n], dst, wr, all_cols)
                    _divide_rows(dst, col_counts)
                produced += n
            x = ring[t % ring_rows]
            if t >= wc:
                y = ring[(t - wc) % ring_rows]
                for c in range(cols):
                    s[c] += x[c]
                    s[c] -= y[c]
            else:
                for c in range(cols):
                    s[c] += x[c]
        else:
            y = ring[(t - wc) % ring_rows]
            for c in range(cols):
                s[c] -= y[c]
        o = t - grow
        if o >= 0:
            fn = row_counts[o]
            z = block[o % _LANES]
            for c in range(cols):
                z[c] = s[c] / fn
            if o % _LANES == _LANES - 1 or o == rows - 1:
                first = o - o % _LANES
                part = sampled[first : o + 1]
                _row_sums(block[: o + 1 - first], part, wr, sel_c)
                _divide_rows(part, col_counts[sel_c])
    small = np.empty((64, 64), dtype=np.float32)
    _col_sums_sampled(sampled, small, wc, sel_r, row_counts)
    return small


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


@njit(cache=True, error_model="numpy")
def _dct16(a, d):  # type: ignore[no-untyped-def]
    """``D A D^T`` for the first 16 rows of the DCT matrix ``D``.

    Each sum still runs k = 0..63 in order from 0, as in the reference; the loops are
    ordered so the innermost one runs across independent outputs and vectorises.
    """
    t = np.zeros((16, 64), dtype=np.float32)
    for i in range(16):
        ti = t[i]
        for k in range(64):
            dik = d[i, k]
            ak = a[k]
            for j in range(64):
                ti[j] += dik * ak[j]
    dt = np.ascontiguousarray(d.T)
    b = np.zeros((16, 16), dtype=np.float32)
    for i in range(16):
        bi = b[i]
        for k in range(64):
            tik = t[i, k]
            dk = dt[k]
            for j in range(16):
                bi[j] += tik * dk[j]
    return b


@njit(cache=True, error_model="numpy")
def _dct_and_quality(luma, force_filter, exact, d):  # type: ignore[no-untyped-def]
    rows, cols = luma.shape
    if rows == 64 and cols == 64 and not force_filter:
        small = luma.astype(np.float32)
    else:
        small = _downsample(luma, exact)
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
    return words[::-1].astype(">u2").tobytes().hex()


def _prepare(luma: npt.ArrayLike) -> tuple[npt.NDArray[np.uint8] | npt.NDArray[np.float32], bool]:
    """A C-contiguous uint8 or float32 copy-free view where possible, and whether it is 8-bit.

    8-bit input stays 8-bit: converting it to float32 is exact, so the kernels do it on the
    fly instead of making a 4x larger copy, and it takes the exact integer first pass. Float
    input takes that pass too when every sample is an integer in 0..255.
    """
    arr = np.asarray(luma)
    if arr.ndim != 2:
        raise ValueError(f"luma must be a 2-D array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        grey8 = np.ascontiguousarray(arr)
        return grey8, grey8.shape[1] <= _EXACT_MAX_COLS
    flt = np.ascontiguousarray(arr, dtype=np.float32)
    exact = flt.shape[1] <= _EXACT_MAX_COLS and min(flt.shape) >= _MIN_DIM and _is_grey8(flt)
    return flt, bool(exact)


def pdq_from_luma(luma: npt.ArrayLike) -> tuple[str, int]:
    """PDQ hash (64 hex chars) and quality (0-100) of a 2-D luma image (0-255).

    ``uint8`` input is used as is (the fast path's decoded Y channel); anything else is
    converted to float32 first, as the reference holds it.
    """
    arr, exact = _prepare(luma)
    if min(arr.shape) < _MIN_DIM:
        return "0" * 64, 0
    b, quality = _dct_and_quality(arr, False, exact, _DCT)
    return _hex(_words(b)), int(quality)


def pdq_dihedral_from_luma(luma: npt.ArrayLike) -> tuple[list[str], int]:
    """The 8 dihedral PDQ hashes from one DCT: original, rot 90/180/270, flip x/y/+1/-1."""
    arr, exact = _prepare(luma)
    if min(arr.shape) < _MIN_DIM:
        return ["0" * 64] * 8, 0
    b, quality = _dct_and_quality(arr, True, exact, _DCT)
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
    if arr.dtype != np.uint8 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8)
    # The kernel reads channels 0-2 only, so a contiguous RGBA array needs no RGB copy.
    return _luma_from_rgb(arr)  # type: ignore[no-any-return]


def pdq_from_rgb(rgb: npt.ArrayLike) -> tuple[str, int]:
    """PDQ hash and quality of an HxWx3 ``uint8`` image, equal to ``pdqhash.compute``."""
    return pdq_from_luma(luma_from_rgb(rgb))


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
