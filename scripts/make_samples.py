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
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from skimage import data
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "samples"


def photo(name: str, side: int = 640) -> Image.Image:
    arr = getattr(data, name)()
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


if __name__ == "__main__":
    main()
