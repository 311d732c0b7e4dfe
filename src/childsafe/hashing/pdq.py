"""The ``pdq`` hasher: Meta's perceptual image hash, 256 bits as 64 hex characters.

The hash itself is :mod:`childsafe.hashing.pdq_core` (bit-exact with ``pdqhash``); this module
decides what to feed it and which query-side variants to attach:

* ``fast=True`` decodes JPEGs at reduced scale straight to luma (see
  :mod:`childsafe.content.image`); ``fast=False`` is the reference decode and gives exactly
  what python-threatexchange's ``PdqSignal`` computes for the upright image.
* ``dihedral=True`` adds the 7 rotations and flips. They come from the same DCT (a sign and
  transpose shuffle of the 16x16 coefficients), so they cost microseconds.
* ``trim_borders=True`` adds the hash of the image with black/white letterbox bars removed,
  when :func:`~childsafe.hashing.borders.trim_uniform_borders` finds some, and (with
  ``dihedral``) its 7 rotations and flips: a mirrored *and* letterboxed copy is otherwise
  missed (recall 0 in bench/bench_robustness.py). Only letterboxed images pay for the extra
  lookups, and they come from the same DCT.

The primary value is always the plain PDQ hash of the upright image, the one banks store; the
reference's dihedral routine filters even a 64x64 input where the plain one does not, so a
64x64 image gets its primary hash from the plain routine.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from childsafe.content.base import Item
from childsafe.content.image import FAST_MIN_SIDE, decode_luma
from childsafe.hashing.base import Hasher
from childsafe.hashing.borders import trim_uniform_borders
from childsafe.hashing.formats import canonical
from childsafe.hashing.pdq_core import (
    hamming,
    luma_from_rgb,
    pdq_dihedral_from_luma,
    pdq_from_luma,
)
from childsafe.types import HashValue

DEFAULT_MAX_PIXELS = 100_000_000  # Settings.max_image_pixels' default; api passes the setting


class PDQHasher(Hasher):
    """PDQ of an image, with dihedral and border-trimmed variants for querying."""

    name: ClassVar[str] = "pdq"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"image"})
    exact: ClassVar[bool] = False

    def __init__(
        self,
        *,
        fast: bool = True,
        fast_min_side: int = FAST_MIN_SIDE,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        dihedral: bool = True,
        trim_borders: bool = True,
    ) -> None:
        self.fast = fast
        self.fast_min_side = fast_min_side
        self.max_pixels = max_pixels
        self.dihedral = dihedral
        self.trim_borders = trim_borders

    def __repr__(self) -> str:
        return (
            f"PDQHasher(fast={self.fast}, fast_min_side={self.fast_min_side}, "
            f"max_pixels={self.max_pixels}, "
            f"dihedral={self.dihedral}, trim_borders={self.trim_borders})"
        )

    def _compute(self, item: Item) -> HashValue:
        luma = decode_luma(
            item,
            max_pixels=self.max_pixels,
            fast=self.fast,
            min_side=self.fast_min_side,
            keep_uint8=True,  # PDQ reads 8-bit luma directly: no float copy of the image
            luma_fn=luma_from_rgb,  # compiled, same values as the NumPy formula
        )
        return self.hash_luma(luma)

    def hash_luma(self, luma: npt.NDArray[np.float32] | npt.NDArray[np.uint8]) -> HashValue:
        """Hash an already decoded luma image (video frames, benchmarks): float32 or uint8."""
        variants: list[str] = []
        if self.dihedral:
            hashes, quality = pdq_dihedral_from_luma(luma)
            primary = hashes[0]
            if luma.shape == (64, 64):
                primary, quality = pdq_from_luma(luma)
            variants.extend(hashes[1:])
        else:
            primary, quality = pdq_from_luma(luma)
        if self.trim_borders:
            trimmed = trim_uniform_borders(luma)
            if trimmed is not None:
                extra = (
                    pdq_dihedral_from_luma(trimmed)[0]
                    if self.dihedral
                    else [pdq_from_luma(trimmed)[0]]
                )
                seen = {primary, *variants}
                variants.extend(v for v in dict.fromkeys(extra) if v not in seen)
        return HashValue(self.name, primary, quality, tuple(variants))

    def validate(self, value: str) -> str:
        return canonical(self.name, value)

    def distance(self, a: str, b: str) -> int:
        """Hamming distance in bits (0-256) between two PDQ hashes."""
        return hamming(self.validate(a), self.validate(b))
