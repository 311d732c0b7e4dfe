"""Find letterbox and pillarbox padding, so a padded copy can still be matched.

Re-uploads are often padded to a fixed aspect ratio with black (or white) bars; PDQ of the
padded image is far from PDQ of the original. Trimming the bars and hashing again gives a
*query-side variant* (never stored in a bank), so a wrong trim costs one extra lookup, not a
wrong hash. Even so the detector is conservative, because each variant is one more chance of
a false match and natural photos have dark skies and white walls:

* the bar colour is read from the outermost row or column and must be near black or near
  white (within ``tolerance`` of 0 or 255);
* every trimmed row (column) must have at least 99 % of its pixels within ``tolerance`` of
  that colour, so a horizon, a logo in the bar or JPEG ringing stops the trim;
* a bar must be at least 2 % of the side (and 2 pixels) to count, and the bars on one axis
  together at most ``max_fraction`` of it; when an axis would lose more, that axis is left
  alone (a mostly-black image is not a letterbox).
"""

from __future__ import annotations

import numpy as np

_MIN_SIDE = 16
_MIN_BAR_FRACTION = 0.02
_MIN_BAR_PIXELS = 2
_INLIER_FRACTION = 0.99


def trim_uniform_borders(
    luma: np.ndarray, *, tolerance: float = 12.0, max_fraction: float = 0.4
) -> np.ndarray | None:
    """The luma with uniform black/white bars cut off, or None when there is nothing to trim.

    Works on float32 or uint8 luma and returns a view of the same type.
    """
    if luma.ndim != 2 or min(luma.shape) < _MIN_SIDE:
        return None
    h, w = luma.shape
    top, bottom = _axis_bars(luma, tolerance, max_fraction)
    left, right = _axis_bars(luma.T, tolerance, max_fraction)
    if top == bottom == left == right == 0:
        return None
    return luma[top : h - bottom, left : w - right]


def _axis_bars(a: np.ndarray, tol: float, max_fraction: float) -> tuple[int, int]:
    """Bars at the start and end of axis 0 (rows of ``a``), respecting ``max_fraction``."""
    n = a.shape[0]
    limit = int(n * max_fraction)
    first = _bar(a, tol, limit)
    last = _bar(a[::-1], tol, limit)
    if first + last > limit:
        return 0, 0
    return first, last


def _bar(a: np.ndarray, tol: float, limit: int) -> int:
    """Length of the run of bar-coloured rows at the start of ``a`` (0 if too short).

    Rows are checked in chunks that double in size, stopping at the first chunk holding a
    non-bar row: a photo with a dark edge costs a few rows, not ``max_fraction`` of the image.
    """
    colour = float(np.median(a[0]))
    if tol < colour < 255.0 - tol:
        return 0
    run, chunk, end = 0, 8, limit + 1
    while run < end:
        head = a[run : min(run + chunk, end)]
        inliers = (np.abs(head.astype(np.float32) - np.float32(colour)) <= tol).mean(axis=1)
        bad = np.flatnonzero(inliers < _INLIER_FRACTION)
        if bad.size:
            run += int(bad[0])
            break
        run += head.shape[0]
        chunk *= 2
    if run < max(_MIN_BAR_PIXELS, _MIN_BAR_FRACTION * a.shape[0]):
        return 0
    return run
