"""Benign images for the image classifiers: scikit-image's photos and generated pictures.

Good items mix bytes and paths, PNG and JPEG, colour and greyscale; bad items are the hostile
inputs every classifier must turn into per-item errors (corrupt, truncated, not an image, a
decompression-bomb header, no content at all).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from childsafe.content.base import Item


@functools.cache
def photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled photos (``astronaut``, ``camera``, ``coffee`` ...)."""
    return np.ascontiguousarray(getattr(skimage.data, name)())


def encode(pixels: np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header that declares ``width`` x ``height`` pixels (and carries none)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def good_items(tmp_path: Path) -> list[Item]:
    chelsea = tmp_path / "chelsea.png"
    chelsea.write_bytes(encode(photo("chelsea")))
    camera = tmp_path / "camera.jpg"
    camera.write_bytes(encode(photo("camera"), "JPEG", quality=90))
    return [
        Item.from_bytes(encode(photo("astronaut")), id="astronaut.png"),
        Item.from_path(chelsea),
        Item.from_bytes(encode(photo("coffee"), "JPEG", quality=90), id="coffee.jpg"),
        Item.from_path(camera),
    ]


@pytest.fixture
def bad_items(tmp_path: Path) -> list[Item]:
    text = tmp_path / "notes.jpg"
    text.write_text("not an image, whatever the name says\n")
    jpeg = encode(photo("astronaut"), "JPEG")
    return [
        Item.from_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, id="corrupt.jpg"),
        Item.from_bytes(jpeg[: len(jpeg) // 3], id="truncated.jpg"),
        Item.from_path(text),
        Item.from_bytes(bomb_png(), id="bomb.png"),
        Item(id="no-content"),
    ]


class Images:
    """The helpers above, for test modules (conftest is not importable by name)."""

    photo = staticmethod(photo)
    encode = staticmethod(encode)
    bomb_png = staticmethod(bomb_png)


@pytest.fixture(scope="session")
def images() -> type[Images]:
    return Images
