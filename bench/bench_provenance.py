"""Measure what survives of childsafe's provenance marks, and false marks on unmarked images.

    python bench/bench_provenance.py                     # 512x512 photos + generated images
    python bench/bench_provenance.py --size 768 --json results.json
    python bench/bench_provenance.py --quick             # 2 photos + 2 generated (smoke test)

Each benign image (scikit-image photos, and procedurally generated images standing in for
model output) is marked with :func:`childsafe.provenance.mark.mark_image` (watermark + C2PA
manifest signed by a throwaway development chain), as PNG and as JPEG (quality 95, 4:4:4).
Each marked file then goes through the transforms people and platforms apply, and
:func:`~childsafe.provenance.mark.verify` reads it back:

* ``as marked``; ``png re-save`` (decode, save as PNG); ``jpeg q95/85/75/50`` (decode,
  re-encode with Pillow's default 4:2:0 colour); ``resize 75 %/50 %`` (Lanczos); ``crop 10 %``
  (centred: 5 % off each side); ``greyscale``; ``screenshot`` (decoded pixels re-rendered to
  RGBA and written by another PNG encoder); ``metadata strip`` (ancillary PNG chunks or JPEG
  APPn/COM segments removed from the bytes, pixels untouched).

Columns: watermark found with the right id, directly at the file's size (``wm direct``) and
with verify's rescue upscales (``wm``); C2PA manifest present, and valid. A mark found with a
damaged id (the check byte caught it) or a wrong one is counted apart. False marks: the same
transforms on the *unmarked* images, and how many of the 32 marker bits the closest read
matched (a mark needs all 32). ``methods`` compares invisible-watermark's own ``dwtDct`` and
``dwtDctSvd`` (loaded by file path) with childsafe's vectorised ``dwtDctSvd``, on exact payload
recovery and speed. Timings are medians on one core.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata
from skimage.draw import random_shapes

from childsafe.provenance import watermark as wm
from childsafe.provenance.base import GenerationClaim
from childsafe.provenance.c2pa_manifest import Signer
from childsafe.provenance.mark import mark_image, verify

RGB = np.ndarray
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
          "retina", "stereo_motorcycle", "camera", "moon", "coins", "grass")  # fmt: skip
GREY = {"camera", "moon", "coins", "grass"}


# ---------------------------------------------------------------------------- images


def _square(arr: np.ndarray, size: int) -> RGB:
    if arr.ndim == 2:
        arr = np.dstack([arr] * 3)
    h, w = arr.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = Image.fromarray(np.ascontiguousarray(arr[top : top + side, left : left + side, :3]))
    return np.asarray(img.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def photos(size: int, names: tuple[str, ...]) -> dict[str, RGB]:
    out = {}
    for name in names:
        arr = getattr(skdata, name)()
        if isinstance(arr, tuple):  # stereo pairs
            arr = arr[0]
        out[f"photo:{name}"] = _square(arr, size)
    return out


def generated(size: int, seed: int, n: int) -> dict[str, RGB]:
    """Procedural images standing in for model output: smooth, textured, flat and busy."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    smooth = cv2.resize(
        rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC
    )
    shapes, _ = random_shapes((size, size), max_shapes=12, min_size=size // 12, rng=seed)
    noise3 = (size, size, 3)
    makers: dict[str, Callable[[], np.ndarray]] = {
        "gradient": lambda: np.dstack([x * 255, y * 255, (1 - x) * 200 + 30]),
        "radial": lambda: np.dstack([np.hypot(x - 0.5, y - 0.5) * 360] * 2 + [200 - y * 150]),
        "shapes": lambda: shapes,
        "smooth-noise": lambda: smooth,
        "sky": lambda: (
            np.dstack([80 + y * 90, 140 + y * 70, 235 - y * 30]) + rng.normal(0, 3, noise3)
        ),
        "stripes": lambda: np.dstack(
            [(np.sin(x * 60) + 1) * 120, y * 255, (np.cos(y * 40) + 1) * 120]
        ),
        "pastel-flat": lambda: np.full(noise3, (236, 214, 222)) + rng.normal(0, 2, noise3),
        "busy-noise": lambda: rng.integers(0, 256, noise3),
    }
    return {
        f"generated:{k}": np.clip(f(), 0, 255).astype(np.uint8) for k, f in list(makers.items())[:n]
    }


# ---------------------------------------------------------------------------- transforms


def _decode(blob: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(blob))
    im.load()
    return im


def _save(im: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def _jpeg(q: int) -> Callable[[bytes], bytes]:
    return lambda b: _save(_decode(b).convert("RGB"), "JPEG", quality=q)


def _resize(f: float) -> Callable[[bytes], bytes]:
    def run(b: bytes) -> bytes:
        im = _decode(b)
        size = (round(im.width * f), round(im.height * f))
        return _save(im.resize(size, Image.Resampling.LANCZOS))

    return run


def _crop(b: bytes) -> bytes:
    im = _decode(b)
    dx, dy = round(im.width * 0.05), round(im.height * 0.05)
    return _save(im.crop((dx, dy, im.width - dx, im.height - dy)))


def _screenshot(b: bytes) -> bytes:
    rgba = np.asarray(_decode(b).convert("RGBA"))
    ok, enc = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert ok
    return enc.tobytes()


def strip_metadata(b: bytes) -> bytes:
    """Drop metadata from the bytes without touching pixels (what ``exiftool -all=`` does)."""
    if b.startswith(b"\x89PNG"):
        out, pos = [b[:8]], 8
        while pos < len(b):
            (length,) = struct.unpack(">I", b[pos : pos + 4])
            kind = b[pos + 4 : pos + 8]
            if kind in (b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS"):
                out.append(b[pos : pos + 12 + length])
            pos += 12 + length
        return b"".join(out)
    if b.startswith(b"\xff\xd8"):
        out, pos = [b[:2]], 2
        while pos < len(b):
            marker = b[pos + 1]
            if marker == 0xDA:  # start of scan: the rest is image data
                out.append(b[pos:])
                break
            (length,) = struct.unpack(">H", b[pos + 2 : pos + 4])
            if not (0xE1 <= marker <= 0xEF or marker == 0xFE):  # keep APP0 (JFIF), drop APPn/COM
                out.append(b[pos : pos + 2 + length])
            pos += 2 + length
        return b"".join(out)
    raise ValueError("not a PNG or JPEG")


TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "as marked": lambda b: b,
    "png re-save": lambda b: _save(_decode(b)),
    "jpeg q95": _jpeg(95),
    "jpeg q85": _jpeg(85),
    "jpeg q75": _jpeg(75),
    "jpeg q50": _jpeg(50),
    "resize 75 %": _resize(0.75),
    "resize 50 %": _resize(0.5),
    "crop 10 %": _crop,
    "greyscale": lambda b: _save(_decode(b).convert("L")),
    "screenshot": _screenshot,
    "metadata strip": strip_metadata,
}


# ---------------------------------------------------------------------------- measurements


def survival(imgs: dict[str, RGB], signer: Signer) -> dict[str, dict[str, dict[str, Any]]]:
    keys = ("n", "wm", "wm_direct", "wm_id_damaged", "wm_wrong_id", "c2pa_present", "c2pa_valid")
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for fmt in ("png", "jpeg"):
        rows = {t: dict.fromkeys(keys, 0) for t in TRANSFORMS}
        for i, (name, rgb) in enumerate(imgs.items()):
            claim = GenerationClaim("bench-model", "1", generation_id=f"bench-{i}")
            marked = mark_image(Image.fromarray(rgb), claim=claim, signer=signer, fmt=fmt)
            for t, fn in TRANSFORMS.items():
                report = verify(fn(marked.data), source=name)
                row = rows[t]
                row["n"] += 1
                if report.watermark_found:
                    right = report.watermark_id == marked.watermark_id
                    row["wm"] += right
                    row["wm_direct"] += right and report.watermark_scale == 1.0
                    row["wm_id_damaged"] += report.watermark_id is None
                    row["wm_wrong_id"] += not right and report.watermark_id is not None
                row["c2pa_present"] += report.c2pa_present
                row["c2pa_valid"] += report.c2pa_valid
        table[fmt] = rows
    return table


def _marker_bits(payload: bytes) -> int:
    diff = np.frombuffer(payload[:4], np.uint8) ^ np.frombuffer(wm.MARKER, np.uint8)
    return 32 - int(np.unpackbits(diff).sum())


def _reads(arr: RGB) -> list[bytes]:
    """The payloads verify's watermark search reads: as given, then each rescue upscale."""
    h, w = arr.shape[:2]
    out = []
    for f in (1.0, *wm.RESCUE_SCALES):
        size = (round(w * f), round(h * f))
        if min(size) >= wm.MIN_SIDE and size[0] * size[1] >= wm.MIN_PIXELS:
            cand = arr if f == 1.0 else cv2.resize(arr, size, interpolation=cv2.INTER_CUBIC)
            out.append(wm.read(np.asarray(cand, dtype=np.uint8)).payload)
    return out


def false_marks(imgs: dict[str, RGB]) -> dict[str, Any]:
    """Every transform of every unmarked image, read like verify does (rescues included)."""
    reads = found = closest = 0
    for rgb in imgs.values():
        plain = _save(Image.fromarray(rgb))
        for fn in TRANSFORMS.values():
            blob = fn(plain)
            found += verify(blob).watermark_found
            payloads = _reads(np.asarray(_decode(blob).convert("RGB"), dtype=np.uint8))
            reads += len(payloads)
            closest = max([closest, *(_marker_bits(p) for p in payloads)])
    return {
        "images": len(imgs),
        "files": len(imgs) * len(TRANSFORMS),
        "reads": reads,
        "false_marks": found,
        "closest_marker_bits": closest,
    }


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 1)


def _timing_one(signer: Signer, size: int, repeat: int) -> dict[str, float]:
    claim = GenerationClaim("bench-model", "1", generation_id="t")
    rgb = _square(skdata.astronaut(), size)
    img = Image.fromarray(rgb)
    marked = mark_image(img, claim=claim, signer=signer)
    plain = _save(img)
    return {
        "embed_ms": _median_ms(lambda: wm.embed(rgb, b"\0\0\0\1"), repeat),
        "read_ms": _median_ms(lambda: wm.read(rgb), repeat),
        "mark_png_signed_ms": _median_ms(
            lambda: mark_image(img, claim=claim, signer=signer), repeat
        ),
        "mark_jpeg_signed_ms": _median_ms(
            lambda: mark_image(img, claim=claim, signer=signer, fmt="jpeg"), repeat
        ),
        "verify_marked_ms": _median_ms(lambda: verify(marked.data), repeat),
        "verify_unmarked_ms": _median_ms(lambda: verify(plain), repeat),
    }


def timing(signer: Signer, sizes: tuple[int, ...], repeat: int) -> dict[str, dict[str, float]]:
    return {f"{size}x{size}": _timing_one(signer, size, repeat) for size in sizes}


def _library(name: str) -> ModuleType | None:
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / f"{name}.py"
    mod_spec = importlib.util.spec_from_file_location(f"_bench_imwm_{name}", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


Variant = tuple[Callable[[RGB], RGB], Callable[[RGB], bytes]]


def _lib_variant(cls: Any, bits: list[int]) -> Variant:
    """invisible-watermark's embed and read for one method (it works in BGR)."""

    def embed(rgb: RGB) -> RGB:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        return np.ascontiguousarray(cls(bits, wmLen=len(bits)).encode(bgr)[:, :, ::-1])

    def read(rgb: RGB) -> bytes:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        return np.packbits(cls([], wmLen=len(bits)).decode(bgr)).tobytes()

    return embed, read


def _method_row(
    variant: Variant, imgs: dict[str, RGB], payload: bytes, repeat: int
) -> dict[str, Any]:
    embed, read = variant
    attacks = ("as marked", "jpeg q95", "jpeg q85", "jpeg q75", "jpeg q50")
    exact = dict.fromkeys(attacks, 0)
    psnr = []
    for rgb in imgs.values():
        marked = np.asarray(embed(rgb), dtype=np.uint8)
        psnr.append(cv2.PSNR(rgb, marked))
        png = _save(Image.fromarray(marked))
        for k in attacks:
            arr = np.asarray(_decode(TRANSFORMS[k](png)).convert("RGB"), dtype=np.uint8)
            exact[k] += read(arr) == payload
    sample = next(iter(imgs.values()))
    return {
        "exact": exact,
        "n": len(imgs),
        "psnr_db_median": round(float(np.median(psnr)), 1),
        "embed_ms": _median_ms(lambda: embed(sample), repeat),
        "read_ms": _median_ms(lambda: read(sample), repeat),
    }


def methods(imgs: dict[str, RGB], repeat: int) -> dict[str, dict[str, Any]]:
    """invisible-watermark's two methods against childsafe's, on exact payload recovery."""
    max_dct, dwt_svd = _library("maxDct"), _library("dwtDctSvd")
    if max_dct is None or dwt_svd is None:
        return {}
    payload = wm.payload_for(b"\x01\x02\x03\x04")
    bits = [int(b) for b in np.unpackbits(np.frombuffer(payload, np.uint8))]
    ours: Variant = (lambda rgb: wm.embed(rgb, payload[4:8]), lambda rgb: wm.read(rgb).payload)
    variants = {
        "invisible-watermark dwtDct": _lib_variant(max_dct.EmbedMaxDct, bits),
        "invisible-watermark dwtDctSvd": _lib_variant(dwt_svd.EmbedDwtDctSvd, bits),
        "childsafe dwtDctSvd": ours,
    }
    return {k: _method_row(v, imgs, payload, repeat) for k, v in variants.items()}


# ---------------------------------------------------------------------------- report


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.0f} %" if n else "    -"


def print_report(res: dict[str, Any]) -> None:
    cfg = res["config"]
    print(
        f"{cfg['n_photos']} photos + {cfg['n_generated']} generated images, "
        f"{cfg['size']}x{cfg['size']}; watermark {wm.METHOD}, {wm.PAYLOAD_BYTES * 8}-bit payload"
    )
    for fmt, rows in res["survival"].items():
        print(f"\nmarked as {fmt.upper()}")
        header = (
            f"{'transform':<16}{'wm':>8}{'wm direct':>11}{'c2pa present':>14}{'c2pa valid':>12}"
        )
        print(header)
        print("-" * len(header))
        for t, r in rows.items():
            n = r["n"]
            cells = [_pct(r[k], n) for k in ("wm", "wm_direct", "c2pa_present", "c2pa_valid")]
            extra = ""
            if r["wm_id_damaged"] or r["wm_wrong_id"]:
                extra = f"  (id damaged {r['wm_id_damaged']}, wrong {r['wm_wrong_id']})"
            print(f"{t:<16}{cells[0]:>8}{cells[1]:>11}{cells[2]:>14}{cells[3]:>12}{extra}")
    fm = res["false_marks"]
    print(
        f"\nfalse marks on unmarked images: {fm['false_marks']} of {fm['files']} files "
        f"({fm['reads']} reads); closest read: {fm['closest_marker_bits']}/32 marker bits"
    )
    print("\ntiming (median ms, one core)")
    for size, t in res["timing"].items():
        print(f"  {size:<10}" + "  ".join(f"{k.removesuffix('_ms')} {v}" for k, v in t.items()))
    if res["methods"]:
        print("\nmethod choice (exact payload recovered)")
        keys = list(next(iter(res["methods"].values()))["exact"])
        header = f"{'method':<31}" + "".join(f"{k:>11}" for k in keys)
        header += f"{'PSNR':>7}{'embed':>8}{'read':>7}"
        print(header)
        print("-" * len(header))
        for label, m in res["methods"].items():
            cells = "".join(f"{_pct(m['exact'][k], m['n']):>11}" for k in keys)
            ms = f"{m['psnr_db_median']:>7}{m['embed_ms']:>8}{m['read_ms']:>7}"
            print(f"{label:<31}{cells}{ms}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="side of the square test images")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--quick", action="store_true", help="2 photos + 2 generated, few repeats")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    names = PHOTOS[:2] if args.quick else PHOTOS
    imgs = {**photos(args.size, names), **generated(args.size, args.seed, 2 if args.quick else 8)}
    signer = Signer.development()
    repeat = 2 if args.quick else 7
    start = time.perf_counter()
    config: dict[str, Any] = {
        "size": args.size,
        "seed": args.seed,
        "n_photos": len(names),
        "n_generated": len(imgs) - len(names),
        "images": list(imgs),
    }
    res = {
        "config": config,
        "survival": survival(imgs, signer),
        "false_marks": false_marks(imgs),
        "timing": timing(signer, (args.size,) if args.quick else (512, 1024), repeat),
        "methods": methods(imgs, repeat),
    }
    config["seconds"] = round(time.perf_counter() - start, 1)
    print_report(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
