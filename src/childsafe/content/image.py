"""Safe, fast image decoding: what PDQ needs and nothing more.

Two entry points. :func:`decode_rgb` is the reference: a full decode, EXIF orientation
applied, every mode converted to 8-bit RGB. :func:`decode_luma` returns the float32 luma PDQ
consumes; with ``fast=True`` a JPEG is decoded by libjpeg straight to its Y channel with DCT
scaling (``draft``), keeping the short side at 512 pixels or more, which is several times
faster on camera-sized photos and changes the PDQ hash by a few bits (see docs/hashing.md).
Every other format, and JPEGs with ``fast=False``, go through :func:`decode_rgb` and the
luma formula pdqhash uses, so hashes equal ``pdqhash.compute`` bit for bit.

Hostile input is the normal case here:

* the pixel count is checked against ``max_pixels`` from the header, before any pixel is
  decoded; Pillow's own bomb guard is kept (it is global state we do not own) and its
  warning/error are turned into :class:`ContentTooLarge`, so the effective limit is the
  smaller of ``max_pixels`` and twice ``PIL.Image.MAX_IMAGE_PIXELS``;
* only the formats we hash are offered to Pillow (a smaller parser surface), and any failure
  inside Pillow becomes :class:`CorruptContent` naming the item; truncated files stay errors
  (``LOAD_TRUNCATED_IMAGES`` is never touched);
* a damaged EXIF block never blocks hashing: the orientation is then taken as upright.

Mode conversion follows python-threatexchange's ``pdq_hasher`` (alpha dropped, greyscale used
as is) except where that would hash garbage: 16-bit greyscale is scaled to 8 bits (Pillow's
conversion clips it to white), CMYK and palettes go through Pillow's RGB conversion (the
reference would read C, M, Y or palette indices as R, G, B) and 1-bit images become 0/255.
"""

from __future__ import annotations

import warnings
from typing import IO

import numpy as np
import numpy.typing as npt
from PIL import Image

from childsafe.content.base import Item
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent, UnsupportedContent

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
FAST_MIN_SIDE = 768  # short side kept by DCT scaling; docs/hashing.md has the trade-off
_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ROWS_PER_BLOCK = 256


def decode_rgb(item: Item, *, max_pixels: int) -> npt.NDArray[np.uint8]:
    """The upright image as an HxWx3 ``uint8`` array (the reference decode)."""
    return _decode(item, max_pixels, luma=False)


def decode_luma(
    item: Item, *, max_pixels: int, fast: bool = True, min_side: int = FAST_MIN_SIDE
) -> npt.NDArray[np.float32]:
    """The upright image's luma (0-255) as a 2-D float32 array, as PDQ consumes it.

    With ``fast``, a JPEG is DCT-scaled by the largest power of two that keeps both sides at
    ``min_side`` or more.
    """
    return _decode(item, max_pixels, luma=True, fast=fast, min_side=min_side)


def luma_from_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """``0.299 R + 0.587 G + 0.114 B`` in float64 rounded to float32, exactly as pdqhash.

    Computed in row blocks so a 100-megapixel image never holds a float64 copy of itself.
    """
    h, w = rgb.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    for top in range(0, h, _ROWS_PER_BLOCK):
        block = rgb[top : top + _ROWS_PER_BLOCK]
        y = block[..., 0] * 0.299 + block[..., 1] * 0.587 + block[..., 2] * 0.114
        out[top : top + _ROWS_PER_BLOCK] = y
    return out


def _decode(
    item: Item, max_pixels: int, *, luma: bool, fast: bool = False, min_side: int = FAST_MIN_SIDE
) -> np.ndarray:
    if item.size() == 0:
        raise CorruptContent(f"{item.id}: empty file (zero bytes)")
    if item.kind() != "image":
        raise UnsupportedContent(f"{item.id}: not an image this decoder reads (by content)")
    with item.open() as fp:
        try:
            return _decode_open(item, fp, max_pixels, luma=luma, fast=fast, min_side=min_side)
        except ContentError:
            raise
        except Image.DecompressionBombError as exc:
            raise ContentTooLarge(f"{item.id}: over Pillow's pixel limit: {exc}") from None
        except MemoryError:
            raise ContentTooLarge(f"{item.id}: not enough memory to decode") from None
        except Exception as exc:  # Pillow's plugins raise many types on hostile input
            reason = str(exc) or type(exc).__name__
            raise CorruptContent(f"{item.id}: cannot decode image: {reason}") from None


def _decode_open(
    item: Item, fp: IO[bytes], max_pixels: int, *, luma: bool, fast: bool, min_side: int
) -> np.ndarray:
    with warnings.catch_warnings():
        # Pillow warns (bomb guard, odd EXIF, palette transparency); none may escape as an
        # error in a caller running with warnings as errors, and the checks below decide.
        warnings.simplefilter("ignore")
        with Image.open(fp, formats=FORMATS) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise ContentTooLarge(
                    f"{item.id}: {w}x{h} image ({w * h} pixels) is over the "
                    f"{max_pixels}-pixel limit"
                )
            orientation = _orientation(im)
            if luma and fast and im.format == "JPEG":
                im.draft("L", (min_side, min_side))
            im.load()
            out = _to_array(im, luma=luma)
    return _orient(out, orientation)


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block must not stop the hash
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an array the way ``ImageOps.exif_transpose`` would."""
    if orientation == 1:
        return arr
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops[orientation](arr))


def _to_array(im: Image.Image, *, luma: bool) -> np.ndarray:
    """Pixels as uint8 RGB, or as luma when ``luma`` (an L image is used as its own luma)."""
    mode = im.mode
    if mode in ("L", "LA") or mode.startswith(("I;16", "I", "F")) or mode == "1":
        grey = _grey(im)
        if luma:
            # pdqhash stacks grey to RGB; 0.299 v + 0.587 v + 0.114 v rounds back to v in
            # float32 for every v in 0..255 (checked in the tests), so skip the round trip.
            return grey.astype(np.float32)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "RGB":
        rgb = np.asarray(im)
    elif mode == "RGBA":
        rgb = np.asarray(im)[:, :, :3]
    elif mode in ("P", "PA"):
        rgb = np.asarray(im.convert("RGBA"))[:, :, :3]
    else:  # CMYK, YCbCr, LAB, HSV, RGBX, ...
        rgb = np.asarray(im.convert("RGB"))
    return luma_from_rgb(rgb) if luma else np.ascontiguousarray(rgb)


def _grey(im: Image.Image) -> npt.NDArray[np.uint8]:
    mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if mode == "LA":
        return np.asarray(im)[:, :, 0].copy()
    if mode == "L":
        return np.asarray(im, dtype=np.uint8)
    arr = np.asarray(im).astype(np.float64)
    if mode == "F" or (mode == "I" and arr.max(initial=0) <= 255):
        out: npt.NDArray[np.uint8] = np.clip(arr, 0, 255).astype(np.uint8)
    else:  # 16-bit samples: keep the high byte, as an 8-bit export of the same image would
        out = (np.clip(arr, 0, 65535) // 256).astype(np.uint8)
    return out
