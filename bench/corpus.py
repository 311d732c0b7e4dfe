"""Deterministic corpora of benign JPEGs for the hashing benchmarks.

Every image is built from the photos that ship inside scikit-image (no download, DESIGN rule 1)
or drawn procedurally. Item ``i`` depends only on ``(seed, i)``, never on ``n``, so a corpus of
300 is the first 300 of a corpus of 1,000 and files already on disk are reused as they are:
benchmarks that share an ``out_dir`` build each image once.

Two corpora, from disjoint sources, so that one can be indexed and the other used to count
false positives without any shared pixels:

* :func:`build_corpus` — crops, upscales and collages of :data:`CORPUS_PHOTOS`, recoloured,
  re-encoded at quality 50-95, some progressive, some stored rotated with an EXIF orientation
  tag (their upright image is what a viewer shows and what the reference hash sees).
* :func:`unrelated_corpus` — procedural scenes (gradients, shapes, value-noise textures) mixed
  with crops of :data:`UNRELATED_PHOTOS`, which :func:`build_corpus` never uses.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CORPUS_PHOTOS = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "horse",
    "immunohistochemistry",
    "hubble_deep_field",
)
UNRELATED_PHOTOS = ("page", "text", "brick", "grass", "gravel")

# EXIF orientation -> the transpose that stores an upright image so that a viewer applying
# the tag (Pillow's exif_transpose) shows it upright again.
_STORE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
_ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3, 9 / 16, 21 / 9)


@cache
def _photo(name: str) -> Image.Image:
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.dtype == bool:
        arr = np.where(arr, 255, 0).astype(np.uint8)
    img = Image.fromarray(arr)
    return img.convert("RGB")


def _canvas_size(rng: np.random.Generator, min_megapixels: float) -> tuple[int, int]:
    aspect = float(rng.choice(_ASPECTS))
    pixels = min_megapixels * 1e6 * rng.uniform(1.02, 2.5)
    w = math.ceil(math.sqrt(pixels * aspect))
    h = math.ceil(pixels / w)
    while w * h < min_megapixels * 1e6:
        h += 1
    return w, h


def _crop(rng: np.random.Generator, img: Image.Image, aspect: float) -> Image.Image:
    """A random crop of 35-100 % of the shorter side with roughly the wanted aspect."""
    w, h = img.size
    frac = rng.uniform(0.35, 1.0)
    cw = min(w, max(16, int(min(w, h * aspect) * frac)))
    ch = min(h, max(16, int(cw / aspect)))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def _recolour(rng: np.random.Generator, img: Image.Image) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32)
    gain = rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    bias = rng.uniform(-20, 20, size=3).astype(np.float32)
    out = np.clip(arr * gain + bias, 0, 255).astype(np.uint8)
    img = Image.fromarray(out)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img


def _tile(rng: np.random.Generator, photos: tuple[str, ...], size: tuple[int, int]) -> Image.Image:
    w, h = size
    src = _photo(str(rng.choice(photos)))
    piece = _crop(rng, src, w / h)
    resample = Image.Resampling.BICUBIC if rng.random() < 0.5 else Image.Resampling.LANCZOS
    return _recolour(rng, piece.resize((w, h), resample))


def _photo_scene(
    rng: np.random.Generator, photos: tuple[str, ...], size: tuple[int, int]
) -> Image.Image:
    """One crop filling the canvas, or a collage of 2-4 crops."""
    w, h = size
    layout = rng.choice(["single", "single", "single", "hsplit", "vsplit", "grid"])
    if layout == "single":
        return _tile(rng, photos, size)
    canvas = Image.new("RGB", size)
    if layout == "hsplit":
        cut = int(w * rng.uniform(0.3, 0.7))
        boxes = [(0, 0, cut, h), (cut, 0, w, h)]
    elif layout == "vsplit":
        cut = int(h * rng.uniform(0.3, 0.7))
        boxes = [(0, 0, w, cut), (0, cut, w, h)]
    else:
        cx, cy = int(w * rng.uniform(0.35, 0.65)), int(h * rng.uniform(0.35, 0.65))
        boxes = [(0, 0, cx, cy), (cx, 0, w, cy), (0, cy, cx, h), (cx, cy, w, h)]
    for x0, y0, x1, y1 in boxes:
        canvas.paste(_tile(rng, photos, (x1 - x0, y1 - y0)), (x0, y0))
    return canvas


def _value_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    w, h = size
    coarse = rng.random((max(2, cells * h // w), cells, 3)) * 255
    img = Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


def _procedural_scene(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Gradient + value-noise background with random filled shapes and lines on top."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xx * np.cos(angle) + yy * np.sin(angle)) / max(w, h)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    bg = c0 + (c1 - c0) * ramp[..., None]
    bg = 0.6 * bg + 0.4 * _value_noise(rng, size, int(rng.integers(3, 24)))
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 30))):
        x0, x1 = sorted(rng.integers(0, w, 2).tolist())
        y0, y1 = sorted(rng.integers(0, h, 2).tolist())
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 4)
        if shape == 0:
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == 2:
            pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(3)]
            draw.polygon(pts, fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 40)))
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))
    return img


def _save(rng: np.random.Generator, img: Image.Image, path: Path, *, exif_rate: float) -> None:
    """Encode as JPEG (quality 50-95, sometimes progressive, sometimes EXIF-rotated), atomically."""
    kwargs: dict[str, object] = {
        "quality": int(rng.integers(50, 96)),
        "progressive": bool(rng.random() < 0.3),
        "subsampling": int(rng.choice([0, 2, 2])),
    }
    if rng.random() < exif_rate:
        orientation = int(rng.integers(2, 9))
        img = img.transpose(_STORE_FOR_ORIENTATION[orientation])
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif
    if rng.random() < 0.15:
        img = img.convert("L")
        kwargs.pop("subsampling")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    img.save(tmp, "JPEG", **kwargs)
    tmp.replace(path)


def _build(
    out_dir: Path,
    n: int,
    seed: int,
    prefix: str,
    make: Callable[[np.random.Generator, tuple[int, int]], Image.Image],
    min_megapixels: float,
    exif_rate: float,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = out_dir / f"{prefix}-s{seed}-mp{min_megapixels:g}-{i:05d}.jpg"
        if not (path.exists() and path.stat().st_size > 0):
            rng = np.random.default_rng([seed, i, len(prefix)])
            img = make(rng, _canvas_size(rng, min_megapixels))
            _save(rng, img, path, exif_rate=exif_rate)
        paths.append(path)
    return paths


def build_corpus(
    out_dir: Path, n: int, *, seed: int = 0, min_megapixels: float = 1.0
) -> list[Path]:
    """``n`` JPEGs of at least ``min_megapixels`` derived from :data:`CORPUS_PHOTOS`.

    Deterministic and cached: existing files are reused, so call it freely. About 20 % carry
    an EXIF orientation other than 1 (stored rotated; the upright image is the ground truth).
    """
    return _build(
        Path(out_dir),
        n,
        seed,
        "corpus",
        lambda rng, size: _photo_scene(rng, CORPUS_PHOTOS, size),
        min_megapixels,
        exif_rate=0.2,
    )


def unrelated_corpus(
    out_dir: Path, n: int, seed: int = 0, *, min_megapixels: float = 1.0
) -> list[Path]:
    """``n`` JPEGs sharing no source pixels with :func:`build_corpus`, for false-positive counts.

    Two thirds are procedural scenes, one third crops of :data:`UNRELATED_PHOTOS`.
    """

    def make(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
        if rng.random() < 2 / 3:
            return _procedural_scene(rng, size)
        return _photo_scene(rng, UNRELATED_PHOTOS, size)

    return _build(Path(out_dir), n, seed, "unrelated", make, min_megapixels, exif_rate=0.1)
