"""Decode each image once per batch, safely, for every image classifier that needs it.

The nudity model wants a Pillow image (its preprocessing is Pillow's bilinear resize and a
JPEG round trip) and the face detector wants an ``HxWx3`` ``uint8`` array; decoding a photo is
often the dearest step of all, so :class:`DecodedImage` holds the array once and makes the
Pillow view on demand, and :class:`~childsafe.classifiers.image.risk.ImageRiskClassifier`
hands the same decoded image to both models. The classifiers decode one item at a time and
keep only the models' small inputs, so a batch of 12-megapixel photos never sits in memory
at once.

The decode itself is :func:`childsafe.content.image.decode_rgb_reduced`, the hashers' decode, so
an image is refused for the same reasons everywhere: over the pixel limit (read from the
header, before any pixel is decoded: decompression bombs), not an image by its magic bytes
(a text file named ``.jpg``), truncated or corrupt. EXIF orientation is applied, so a face
lying on its side in the file is upright for the detector. A failure is returned as an
:class:`Undecodable` naming the item, never raised: one bad file must not abort a batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.content.image import decode_rgb_reduced
from childsafe.errors import ContentError, PluginError

DEFAULT_MAX_PIXELS = 100_000_000  # Settings.max_image_pixels' default
# JPEGs are DCT-scaled while both sides stay >= this: faces are detected at a long side of
# 1024 and open_nsfw looks at 256x256, so more pixels only cost time (a 4096-pixel photo
# decodes at 2048). Smaller images, and other formats, decode in full.
REDUCED_MIN_SIDE = 1024


@dataclass(slots=True)
class DecodedImage:
    """One item's upright pixels as ``HxWx3`` ``uint8`` RGB, with a Pillow view made once."""

    item_id: str
    rgb: npt.NDArray[np.uint8]
    _pil: Image.Image | None = field(default=None, repr=False)
    full_size: tuple[int, int] | None = None  # upright size in the file, when decoded reduced

    @property
    def full_width(self) -> int:
        """Width of the image in the file (boxes are reported in these pixels)."""
        return self.full_size[0] if self.full_size else self.width

    @property
    def full_height(self) -> int:
        return self.full_size[1] if self.full_size else self.height

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def pil(self) -> Image.Image:
        """The same pixels as an RGB Pillow image, made once and shared (callers must not
        modify it). Pillow stores RGB as 4 bytes a pixel, so this is a copy (~15-40 ms at
        16 megapixels): one per image, whichever models ask."""
        if self._pil is None:
            self._pil = Image.fromarray(self.rgb, mode="RGB")
        return self._pil


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Why an item could not be decoded; ``message`` names the item."""

    message: str


Decoded = DecodedImage | Undecodable


def decode_item(item: Item, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """The item's pixels, or why there are none (never raises for bad input)."""
    if item.error:
        # A reader already failed on this item (a truncated tar member): keep its reason.
        reason = item.error if item.error.startswith(item.id) else f"{item.id}: {item.error}"
        return Undecodable(reason)
    try:
        rgb, full = decode_rgb_reduced(item, max_pixels=max_pixels, min_side=REDUCED_MIN_SIDE)
        return DecodedImage(item.id, rgb, full_size=full)
    except ContentError as exc:
        return Undecodable(str(exc))
    except Exception as exc:  # a decoder bug must still become this item's error row
        return Undecodable(f"{item.id}: cannot decode image: {type(exc).__name__}: {exc}")


def decode_items(items: Sequence[Item], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Decoded]:
    """:func:`decode_item` over a batch, in order."""
    return [decode_item(item, max_pixels=max_pixels) for item in items]


def runtime_limits(model_threads: int | None, max_pixels: int | None) -> tuple[int, int]:
    """Threads per model session and the pixel limit: the caller's, else ``Settings``'.

    Read when a model loads (``setup``), in the worker, so its environment decides.
    """
    if model_threads is None or max_pixels is None:
        settings = Settings()
        model_threads = settings.model_threads if model_threads is None else model_threads
        max_pixels = settings.max_image_pixels if max_pixels is None else max_pixels
    return model_threads, max_pixels


def require(classifier: str, extra: str, *modules: str) -> None:
    """Import ``modules`` or fail with a :class:`PluginError` naming the extra to install.

    Checked on every ``setup()``, before any process-wide model cache is consulted, so a
    missing package is always reported the same way.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise PluginError(
                f"{classifier}: {exc.name or module} is not installed; "
                f"install the {extra} extra: pip install 'childsafe[{extra}]'"
            ) from exc
