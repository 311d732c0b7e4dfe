"""Benign fixtures for reader tests: small generated JPEGs, tars and tables.

Images are colour gradients or scikit-image's bundled astronaut; captions are ordinary
("a cat on a sofa"). Helpers are plain functions so tests can build variants inline.
"""

from __future__ import annotations

import functools
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CAPTIONS = ["a cat on a sofa", "a red bicycle by a wall", "two cups of tea", "a sunny beach"]


@functools.cache
def jpeg(seed: int = 0, size: int = 32) -> bytes:
    """A small JPEG of a colour gradient, different per seed."""
    y, x = np.mgrid[0:size, 0:size]
    rgb = np.stack([(x * 8 + seed * 40) % 256, (y * 8) % 256, (x + y + seed * 17) % 256], -1)
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


@functools.cache
def astronaut_png() -> bytes:
    import skimage.data

    buf = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).resize((64, 64)).save(buf, "PNG")
    return buf.getvalue()


def add(tf: tarfile.TarFile, name: str, data: bytes = b"", **attrs: object) -> None:
    """Add one member; ``attrs`` set TarInfo fields (type, linkname, size)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tf.addfile(info, io.BytesIO(data) if info.isreg() else None)


def write_tar(path: Path, members: list[tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members:
            add(tf, name, data)
    return path


def samples(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    """WebDataset samples: ``NNNNNN.jpg`` + ``.txt`` + ``.json`` per key."""
    out: list[tuple[str, bytes]] = []
    for i in range(start, start + n):
        key = f"{i:06d}"
        meta = f'{{"url": "https://example.org/{key}.jpg", "license": "cc-by", "date": "2024"}}'
        out += [
            (f"{key}.jpg", jpeg(i)),
            (f"{key}.txt", CAPTIONS[i % len(CAPTIONS)].encode()),
            (f"{key}.json", meta.encode()),
        ]
    return out


@pytest.fixture
def wds_dir(tmp_path: Path) -> Path:
    """Three tar shards of 4 samples each: ``shard-00000.tar`` .. ``shard-00002.tar``."""
    for s in range(3):
        write_tar(tmp_path / f"shard-{s:05d}.tar", samples(4, 4 * s))
    return tmp_path
