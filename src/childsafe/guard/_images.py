"""What an image pipeline returned, as a list of PIL images, and each image as PNG bytes.

Diffusers pipelines return an output object with ``.images``; simpler pipelines return a list
or one image. Anything else is a caller error naming what was returned, never a guess.

Images are screened as lossless PNG (compression level 1: fast, and PDQ and the classifiers
see exactly the pixels the pipeline made); modes PNG cannot store (``F``, ``CMYK`` …) are
converted to RGB first.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image

from childsafe.errors import ScreenError

PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})


def images_of(output: Any, where: str) -> list[Image.Image]:
    """The images of a pipeline's return value (``.images``, a sequence, or one image)."""
    found = getattr(output, "images", output)
    if isinstance(found, Image.Image):
        return [found]
    if isinstance(found, Sequence) and not isinstance(found, str | bytes):
        images = list(found)
        for i, image in enumerate(images):
            if not isinstance(image, Image.Image):
                raise ScreenError(
                    f"generation {where}: output {i} is {type(image).__name__}, not a PIL "
                    "image (use output_type='pil' with diffusers)"
                )
        return images
    raise ScreenError(
        f"generation {where}: the pipeline returned {type(output).__name__}; expected PIL "
        "images, a list of them, or an object with .images"
    )


def to_png(image: Image.Image, where: str) -> bytes:
    """Lossless PNG bytes of ``image`` for screening."""
    if image.mode not in PNG_MODES:
        image = image.convert("RGB")
    buf = io.BytesIO()
    try:
        image.save(buf, "PNG", compress_level=1)
    except (OSError, ValueError) as exc:
        raise ScreenError(f"{where}: cannot encode the image as PNG: {exc}") from exc
    return buf.getvalue()
