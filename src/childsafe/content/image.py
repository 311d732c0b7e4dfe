"""Safe, fast image decoding: what PDQ needs and nothing more.

Two entry points. :func:`decode_rgb` is the reference: a full decode, EXIF orientation
applied, every mode converted to 8-bit RGB. :func:`decode_luma` returns the luma PDQ
consumes; with ``fast=True`` a JPEG is decoded by libjpeg straight to its Y channel with DCT
scaling (``draft``), keeping the short side at :data:`FAST_MIN_SIDE` (1024) pixels or more,
which skips colour conversion and changes the PDQ hash by a few bits (see docs/hashing.md).
Every other format, and JPEGs with ``fast=False``, go through :func:`decode_rgb` and the
luma formula pdqhash uses, so hashes equal ``pdqhash.compute`` bit for bit.

EXIF orientation is applied to the 8-bit pixels, before any float conversion (a rotation is a
full copy, 4x cheaper on bytes), and ``keep_uint8=True`` hands an 8-bit grey channel (the fast
path's Y, greyscale files) to PDQ as is: its float32 copy is exact, so PDQ makes it on the fly.

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
from collections.abc import Callable
from typing import IO, Literal, overload

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from childsafe.content.base import Item
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent, UnsupportedContent

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Short side kept by DCT scaling. 512 left p99 12 bits from the reference on 1-2.5 MP photos;
# 768 gave 4 there but 9 (max 10) on 4-10 MP ones; 1024 gives 4 and 6 for ~13 % more time on
# the larger photos only (docs/hashing.md has the tables).
FAST_MIN_SIDE = 1024
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
LumaFn = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.float32]]


def decode_rgb(item: Item, *, max_pixels: int) -> npt.NDArray[np.uint8]:
    """The upright image as an HxWx3 ``uint8`` array (the reference decode)."""
    return _decode(item, max_pixels, luma=False)


def decode_rgb_reduced(
    item: Item, *, max_pixels: int, min_side: int
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Upright RGB pixels, a JPEG DCT-scaled while both sides stay at least ``min_side``,
    and the upright full size ``(width, height)``.

    Classifiers look at a few hundred pixels (open_nsfw at 256, faces detected at 1024), so
    decoding a 4096-pixel JPEG in full is wasted work; other formats decode in full.
    """
    size: list[int] = []
    pixels = _decode(item, max_pixels, luma=False, rgb_draft=min_side, full_size=size)
    return pixels, (size[0], size[1])


@overload
def decode_luma(
    item: Item,
    *,
    max_pixels: int,
    fast: bool = ...,
    min_side: int = ...,
    keep_uint8: Literal[False] = ...,
    luma_fn: LumaFn | None = ...,
) -> npt.NDArray[np.float32]: ...


@overload
def decode_luma(
    item: Item,
    *,
    max_pixels: int,
    fast: bool = ...,
    min_side: int = ...,
    keep_uint8: bool,
    luma_fn: LumaFn | None = ...,
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8]: ...


def decode_luma(
    item: Item,
    *,
    max_pixels: int,
    fast: bool = True,
    min_side: int = FAST_MIN_SIDE,
    keep_uint8: bool = False,
    luma_fn: LumaFn | None = None,
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8]:
    """The upright image's luma (0-255) as a 2-D float32 array, as PDQ consumes it.

    With ``fast``, a JPEG is DCT-scaled by the largest power of two that keeps both sides at
    ``min_side`` or more. With ``keep_uint8``, an image whose luma is an 8-bit grey channel
    (a JPEG on the fast path, a greyscale file) comes back as that ``uint8`` array, same
    values: :mod:`~childsafe.hashing.pdq_core` takes it directly, which saves a float32 copy
    of the whole image.

    ``luma_fn`` replaces :func:`luma_from_rgb` for colour images (PNG, WebP, CMYK JPEGs); it
    gets the upright ``HxWx3`` or ``HxWx4`` ``uint8`` pixels (alpha, if any, ignored) and must
    compute the same values. Why: the PDQ hasher passes its compiled single-pass kernel
    (``pdq_core.luma_from_rgb``, ~1.6x faster than the NumPy block formula here, which
    makes float64 temporaries), while this layer stays free of numba.
    """
    return _decode(
        item,
        max_pixels,
        luma=True,
        fast=fast,
        min_side=min_side,
        keep_uint8=keep_uint8,
        luma_fn=luma_fn,
    )


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
    item: Item,
    max_pixels: int,
    *,
    luma: bool,
    fast: bool = False,
    min_side: int = FAST_MIN_SIDE,
    keep_uint8: bool = False,
    luma_fn: LumaFn | None = None,
    rgb_draft: int | None = None,
    full_size: list[int] | None = None,
) -> np.ndarray:
    if item.size() == 0:
        raise CorruptContent(f"{item.id}: empty file (zero bytes)")
    if item.kind() != "image":
        raise UnsupportedContent(f"{item.id}: not an image this decoder reads (by content)")
    with item.open() as fp:
        try:
            pixels = _decode_open(
                item,
                fp,
                max_pixels,
                fast=luma and fast,
                min_side=min_side,
                rgb_draft=rgb_draft,
                full_size=full_size,
            )
            return _finish(pixels, luma=luma, keep_uint8=keep_uint8, luma_fn=luma_fn)
        except ContentError:
            raise
        except Image.DecompressionBombError as exc:
            raise ContentTooLarge(f"{item.id}: over Pillow's pixel limit: {exc}") from None
        except MemoryError:
            raise ContentTooLarge(f"{item.id}: not enough memory to decode") from None
        except UnidentifiedImageError:  # its message carries a BytesIO's memory address
            raise CorruptContent(f"{item.id}: cannot decode image: format not identified") from None
        except Exception as exc:  # Pillow's plugins raise many types on hostile input
            reason = str(exc) or type(exc).__name__
            raise CorruptContent(f"{item.id}: cannot decode image: {reason}") from None


def _finish(
    pixels: np.ndarray, *, luma: bool, keep_uint8: bool, luma_fn: LumaFn | None = None
) -> np.ndarray:
    """RGB, or luma, from upright uint8 pixels (a grey image is used as its own luma)."""
    if pixels.ndim == 2:
        if luma:
            # pdqhash stacks grey to RGB; 0.299 v + 0.587 v + 0.114 v rounds back to v in
            # float32 for every v in 0..255 (checked in the tests), so skip the round trip.
            return pixels if keep_uint8 else pixels.astype(np.float32)
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if not luma:
        return np.ascontiguousarray(pixels)
    return (luma_fn or luma_from_rgb)(pixels)


def _decode_open(
    item: Item,
    fp: IO[bytes],
    max_pixels: int,
    *,
    fast: bool,
    min_side: int,
    rgb_draft: int | None = None,
    full_size: list[int] | None = None,
) -> np.ndarray:
    """The upright pixels as uint8: 2-D for grey modes, else HxWx3 RGB (maybe a view)."""
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
            if full_size is not None:  # upright: orientations 5-8 swap the sides
                full_size[:] = [h, w] if orientation in (5, 6, 7, 8) else [w, h]
            if fast and im.format == "JPEG":
                im.draft("L", (min_side, min_side))
            elif rgb_draft is not None and im.format == "JPEG" and im.mode in ("RGB", "L"):
                im.draft(im.mode, (rgb_draft, rgb_draft))
            im.load()
            out = _pixels(im)
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


def _pixels(im: Image.Image) -> np.ndarray:
    """Pixels as uint8: a 2-D grey array for grey modes, else HxWx3 RGB (may be a view)."""
    mode = im.mode
    if mode in ("L", "LA") or mode.startswith(("I;16", "I", "F")) or mode == "1":
        return _grey(im)
    if mode == "RGB":
        return np.asarray(im)
    if mode == "RGBA":
        return np.asarray(im)[:, :, :3]
    if mode in ("P", "PA"):
        return np.asarray(im.convert("RGBA"))[:, :, :3]
    return np.asarray(im.convert("RGB"))  # CMYK, YCbCr, LAB, HSV, RGBX, ...


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
