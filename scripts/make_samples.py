"""Build the bundled benign sample set and the demo bank (run once; outputs are committed).

Every picture is one of the public-domain / CC0 photos that ship inside scikit-image. The
demo bank lists the hashes of three of them ("known" benign images); the sample folder holds
altered copies (exact copy, mirrored and re-encoded, letterboxed) that childsafe must still
match, unrelated photos that must not match, and a broken file and a text file that show
per-item errors and non-image handling.

Usage: python scripts/make_samples.py  (needs the bench extra: scikit-image, threatexchange)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageOps
from skimage import data
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "samples"


def photo(name: str, side: int = 640) -> Image.Image:
    arr = getattr(data, name)()
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = (255 * (arr - arr.min()) / max(float(arr.max() - arr.min()), 1e-9)).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    im = Image.fromarray(arr if arr.ndim == 3 else np.stack([arr] * 3, -1)).convert("RGB")
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    return im


def jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def letterbox(im: Image.Image, frac: float = 0.05) -> Image.Image:
    pad = round(max(im.size) * frac)
    return ImageOps.expand(im, border=(0, pad, 0, pad), fill=(0, 0, 0))


def main() -> None:
    images = OUT / "images"
    images.mkdir(parents=True, exist_ok=True)
    known = {name: jpeg(photo(name)) for name in ("astronaut", "coffee", "rocket")}

    files: dict[str, bytes] = {
        "astronaut_copy.jpg": known["astronaut"],  # byte-identical: md5/sha256 and pdq match
        "coffee_mirrored.jpg": jpeg(ImageOps.mirror(Image.open(io.BytesIO(known["coffee"]))), 70),
        "rocket_letterboxed.jpg": b"",
        "chelsea.jpg": jpeg(photo("chelsea")),  # unrelated: must not match
        "camera.webp": b"",
        "broken.jpg": known["coffee"][: len(known["coffee"]) // 3],  # truncated on purpose
        "notes.txt": b"A plain text file: it has digests but no PDQ hash.\n",
    }
    buf = io.BytesIO()
    letterbox(Image.open(io.BytesIO(known["rocket"]))).save(buf, "JPEG", quality=85)
    files["rocket_letterboxed.jpg"] = buf.getvalue()
    buf = io.BytesIO()
    photo("camera", 480).save(buf, "WEBP", quality=80)
    files["camera.webp"] = buf.getvalue()
    for name, content in files.items():
        (images / name).write_bytes(content)

    with (OUT / "demo-bank.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["hash_type", "value", "label", "source"])
        for name, content in known.items():
            pdq, quality = pdq_from_bytes(content)
            w.writerow(["pdq", pdq, "demo-benign", f"skimage:{name} (q={quality})"])
            w.writerow(["md5", hashlib.md5(content).hexdigest(), "demo-benign", f"skimage:{name}"])
    print(f"wrote {len(files)} samples and a bank of {2 * len(known)} hashes under {OUT}")
    make_dataset(known)


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000  # fixed, so the archive is byte-for-byte reproducible
    tar.addfile(info, io.BytesIO(data))


def make_dataset(known: dict[str, bytes]) -> None:
    """A tiny WebDataset (2 tar shards) plus a LAION-style hashes-only table.

    Most images are crops of photos that are *not* in the demo bank; a few are planted copies
    of bank images (exact, mirrored, letterboxed, downscaled) that a scan must quarantine, and
    one member is a truncated JPEG that must become an error row, not a lost item.
    """
    rng = np.random.default_rng(7)
    dataset = OUT / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    pool = [
        "chelsea",
        "camera",
        "coins",
        "horse",
        "immunohistochemistry",
        "hubble_deep_field",
        "moon",
        "page",
        "brick",
        "grass",
        "gravel",
        "text",
    ]
    samples: list[tuple[str, bytes, str]] = []
    for i in range(20):
        src = photo(pool[i % len(pool)], 800)
        w, h = src.size
        cw, ch = int(w * rng.uniform(0.4, 0.8)), int(h * rng.uniform(0.4, 0.8))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = src.crop((x, y, x + cw, y + ch))
        crop.thumbnail((320, 320))
        samples.append((f"{i:06d}", jpeg(crop, 80), f"a photo of {pool[i % len(pool)]}"))
    coffee = Image.open(io.BytesIO(known["coffee"]))
    rocket = Image.open(io.BytesIO(known["rocket"]))
    small = Image.open(io.BytesIO(known["astronaut"]))
    small.thumbnail((256, 256))
    planted = [
        ("planted-astronaut", known["astronaut"], "an astronaut"),
        ("planted-coffee-mirrored", jpeg(ImageOps.mirror(coffee), 75), "a cup of coffee"),
        ("planted-rocket-letterboxed", jpeg(letterbox(rocket), 85), "a rocket"),
        ("planted-astronaut-small", jpeg(small, 70), "a small astronaut"),
    ]
    for k, item in enumerate(planted):
        samples.insert(3 + 5 * k, item)
    broken = ("broken-000", known["rocket"][:2000], "a truncated file")
    samples.insert(12, broken)
    for shard in range(2):
        with tarfile.open(
            dataset / f"shard-{shard:05d}.tar", "w", format=tarfile.USTAR_FORMAT
        ) as tar:
            for key, data, caption in samples[shard::2]:
                _member(tar, f"{key}.jpg", data)
                _member(tar, f"{key}.txt", caption.encode())
                meta = {"url": f"https://example.org/img/{key}.jpg", "licence": "CC0-1.0"}
                _member(tar, f"{key}.json", json.dumps(meta).encode())

    rows = []
    for n in range(200):
        digest = hashlib.md5(f"row-{n}".encode()).hexdigest()
        rows.append(
            {
                "id": f"row-{n:04d}",
                "url": f"https://example.org/t/{n}.jpg",
                "caption": f"benign caption {n}",
                "md5": digest,
                "pdq": None,
            }
        )
    for n, name in ((17, "astronaut"), (123, "coffee")):
        rows[n]["md5"] = hashlib.md5(known[name]).hexdigest()  # planted: hash of a bank image
    pq.write_table(pa.Table.from_pylist(rows), dataset / "metadata.parquet")
    print(f"wrote {len(samples)} items in 2 WebDataset shards and a 200-row table under {dataset}")


if __name__ == "__main__":
    main()
