"""Benign generated images for the hashing tests (skimage photos and numpy arrays only)."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pdqhash
import pytest
import skimage.data
from PIL import Image

from childsafe.content.base import Item


@cache
def photo(name: str = "astronaut", size: tuple[int, int] | None = None) -> np.ndarray:
    """A scikit-image sample photo as RGB uint8, optionally resized (w, h)."""
    arr = np.asarray(getattr(skimage.data, name)())
    if arr.dtype == bool:
        arr = np.where(arr, 255, 0).astype(np.uint8)
    img = Image.fromarray(arr).convert("RGB")
    if size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(img)


def encode(img: Image.Image | np.ndarray, fmt: str = "JPEG", **kw: object) -> bytes:
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def ref_pdq(rgb: np.ndarray) -> tuple[str, int]:
    """pdqhash.compute in python-threatexchange's hex order: the oracle."""
    vec, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return f"{int(''.join(map(str, vec)), 2):064x}", int(quality)


def ref_dihedral(rgb: np.ndarray) -> tuple[list[str], int]:
    vecs, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [f"{int(''.join(map(str, v)), 2):064x}" for v in vecs], int(quality)


def bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@pytest.fixture
def jpeg_item() -> Item:
    return Item.from_bytes(encode(photo("coffee"), "JPEG", quality=90), id="coffee.jpg")


@pytest.fixture
def text_item() -> Item:
    return Item.from_bytes(b"just some words, not an image\n" * 10, id="notes.txt")
