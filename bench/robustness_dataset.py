"""The robustness benchmark's data: which sources it uses and the edits applied to them.

Kept apart from ``bench_robustness.py`` (as perception keeps its dataset and transforms apart
from its metrics) so that adding a transform is one entry in :data:`TRANSFORMS`. Each transform
gets a ``numpy`` generator seeded by (seed, source, transform), so a run is reproducible.
Percentages are of the image's own size, because PDQ works on a 64 x 64 reduction and
absolute pixel counts would mean different things on different images. Words drawn on images
are benign captions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from corpus import build_corpus

DUPLICATE_BITS = 50  # sources this close (any orientation) are one image for this benchmark
Edit = Callable[[Image.Image, np.random.Generator], Image.Image]
BENIGN_CAPTIONS = ("HAPPY BIRTHDAY", "SUNNY DAY AT THE PARK", "SEE YOU SOON", "BEST FRIENDS")


@dataclass(frozen=True, slots=True)
class Transform:
    """An edit applied to the upright source; saved as JPEG at ``quality`` (95, as perception)."""

    name: str
    apply: Edit
    quality: int = 95


def _same(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img


def _resize(f: float) -> Edit:
    def apply(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        size = (max(1, round(img.width * f)), max(1, round(img.height * f)))
        return img.resize(size, Image.Resampling.BICUBIC)

    return apply


def _crop(frac: float, centre: bool) -> Edit:
    """Keep ``1 - frac`` of each side: centred, or with the whole margin off the right/bottom."""

    def apply(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        cw, ch = round(img.width * (1 - frac)), round(img.height * (1 - frac))
        x, y = ((img.width - cw) // 2, (img.height - ch) // 2) if centre else (0, 0)
        return img.crop((x, y, x + cw, y + ch))

    return apply


def _letterbox(frac: float, colour: str) -> Edit:
    """Bars of ``frac`` x height above and below, as a video player or a re-post adds them."""

    def apply(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        bar = max(1, round(img.height * frac))
        out = Image.new("RGB", (img.width, img.height + 2 * bar), colour)
        out.paste(img, (0, bar))
        return out

    return apply


def _rotate90(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.ROTATE_90)


def _flip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def _blur(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Sigma 0.5 % of the short side: clearly soft, yet well under one PDQ cell (1/64)."""
    return img.filter(ImageFilter.GaussianBlur(0.005 * min(img.size)))


def _noise(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.standard_normal(arr.shape, dtype=np.float32) * 20.0
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _text(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Meme-style captions top and bottom in Pillow's default (FreeType) font, benign words."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    top, bottom = rng.choice(len(BENIGN_CAPTIONS), size=2, replace=False)
    for caption, y_frac in ((BENIGN_CAPTIONS[top], 0.04), (BENIGN_CAPTIONS[bottom], 0.84)):
        size = max(8, out.height // 10)
        font = ImageFont.load_default(size=size)
        width = draw.textlength(caption, font=font)
        if width > 0.9 * out.width:
            font = ImageFont.load_default(size=max(8, int(size * 0.9 * out.width / width)))
            width = draw.textlength(caption, font=font)
        xy = ((out.width - width) / 2, y_frac * out.height)
        draw.text(
            xy,
            caption,
            fill="white",
            font=font,
            stroke_width=max(1, size // 15),
            stroke_fill="black",
        )
    return out


def _grey(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.convert("L")


def _chain(*steps: Edit) -> Edit:
    def apply(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        for step in steps:
            img = step(img, rng)
        return img

    return apply


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("jpeg_q50", _same, 50),
        Transform("jpeg_q20", _same, 20),
        Transform("resize_0.5", _resize(0.5)),
        Transform("resize_0.25", _resize(0.25)),
        Transform("crop_5pct_centre", _crop(0.05, True)),
        Transform("crop_10pct_centre", _crop(0.10, True)),
        Transform("crop_5pct_offcentre", _crop(0.05, False)),
        Transform("crop_10pct_offcentre", _crop(0.10, False)),
        Transform("pad_5pct_black", _letterbox(0.05, "black")),
        Transform("pad_5pct_white", _letterbox(0.05, "white")),
        Transform("pad_10pct_black", _letterbox(0.10, "black")),
        Transform("rotate_90", _rotate90),
        Transform("flip_h", _flip),
        Transform("blur", _blur),
        Transform("noise", _noise),
        Transform("text", _text),
        Transform("greyscale", _grey),
        Transform("combo_crop5_resize0.5_jpeg50", _chain(_crop(0.05, True), _resize(0.5)), 50),
        Transform("combo_flip_pad5", _chain(_flip, _letterbox(0.05, "black"))),
    )
}


# --- sources -------------------------------------------------------------------------


def pdq_hex(vector: npt.ArrayLike) -> str:
    """A ``pdqhash`` bit vector as python-threatexchange writes it (64 hex, first bit high)."""
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def packed(hashes: Iterable[str]) -> npt.NDArray[np.uint64]:
    """Hex hashes as rows of four uint64 words (byte order is irrelevant to Hamming distance)."""
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), dtype=np.uint64).reshape(-1, 4)


def distances(
    queries: npt.NDArray[np.uint64], bank: npt.NDArray[np.uint64]
) -> npt.NDArray[np.int32]:
    """Hamming distance of every query row (q, k, 4) to every bank row (b, 4), min over k."""
    out = np.empty((queries.shape[0], bank.shape[0]), dtype=np.int32)
    for lo in range(0, queries.shape[0], 256):
        x = queries[lo : lo + 256, :, None, :] ^ bank[None, None, :, :]
        out[lo : lo + 256] = np.bitwise_count(x).sum(axis=-1, dtype=np.int32).min(axis=1)
    return out


def select_sources(
    corpus_dir: Path, n: int, *, seed: int, min_megapixels: float, quality_floor: int
) -> tuple[list[Path], dict[str, int]]:
    """The first ``n`` corpus images that pass the quality floor and are not near-duplicates.

    Uses the reference hash on a reduced decode: this is dataset curation, not measurement, and
    it must not depend on the variants under test.
    """
    import pdqhash

    kept: list[Path] = []
    kept_hashes: list[npt.NDArray[np.uint64]] = []
    skipped = {"low_quality": 0, "near_duplicate": 0}
    want, seen = n, 0
    while len(kept) < n:
        if want > 4 * n + 100:
            raise SystemExit(f"only {len(kept)} usable sources in the first {seen} corpus images")
        want = want + max(8, n // 4)
        for path in build_corpus(corpus_dir, want, seed=seed, min_megapixels=min_megapixels)[seen:]:
            seen += 1
            with Image.open(path) as im:
                im.draft("RGB", (512, 512))
                rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            vectors, quality = pdqhash.compute_dihedral(rgb)
            hashes = packed(pdq_hex(v) for v in vectors)
            if quality < quality_floor:
                skipped["low_quality"] += 1
                continue
            if kept and distances(hashes[None], np.stack(kept_hashes)).min() <= DUPLICATE_BITS:
                skipped["near_duplicate"] += 1
                continue
            kept.append(path)
            kept_hashes.append(hashes[0])
            if len(kept) == n:
                break
    return kept, skipped
