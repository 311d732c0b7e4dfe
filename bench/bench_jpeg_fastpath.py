"""How far is the fast JPEG path from the reference PDQ, and how much faster is it?

Reference: full decode, EXIF orientation applied, ``pdqhash.compute`` on the RGB array (what
python-threatexchange computes for the upright image). Fast: ``decode_luma(fast=True)``
(libjpeg DCT scaling to a short side >= ``FAST_MIN_SIDE``, Y channel only, handed to PDQ as
uint8 as ``PDQHasher`` does) and the numba port.

Also reports, on the same corpus, whether the numba port on the reference luma equals pdqhash
(it must, every image) and the per-image cost of pdqhash vs the port, and of the variants.

    python bench/bench_jpeg_fastpath.py --n 300 --out /tmp/childsafe-corpus
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pdqhash

sys.path.insert(0, str(Path(__file__).parent))

from childsafe.content.base import Item
from childsafe.content.image import decode_luma, decode_rgb, luma_from_rgb
from childsafe.hashing.pdq import PDQHasher
from childsafe.hashing.pdq_core import hamming, pdq_from_luma
from corpus import build_corpus

LIMIT = 100_000_000


def _ref_hex(rgb: np.ndarray) -> tuple[str, int]:
    vec, quality = pdqhash.compute(rgb)
    return f"{int(''.join(map(str, vec)), 2):064x}", int(quality)


def _ms(samples: list[float]) -> float:
    return round(1000 * float(np.median(samples)), 2)


def run(n: int, out: Path) -> dict[str, object]:
    paths = build_corpus(out, n, seed=0, min_megapixels=1.0)
    for dtype in (np.float32, np.uint8):  # load the numba cache before timing
        pdq_from_luma(np.zeros((64, 65), dtype))
    dist, qdiff, exact = [], [], 0
    t_ref, t_fast, t_pdqhash, t_port, t_variants, t_plain = [], [], [], [], [], []
    megapixels = []
    plain = PDQHasher(dihedral=False, trim_borders=False)
    full = PDQHasher()
    for path in paths:
        data = path.read_bytes()
        item = Item.from_bytes(data, id=path.name)

        t0 = time.perf_counter()
        rgb = decode_rgb(item, max_pixels=LIMIT)
        t1 = time.perf_counter()
        ref, ref_q = _ref_hex(rgb)
        t2 = time.perf_counter()
        t_ref.append(t2 - t0)
        t_pdqhash.append(t2 - t1)
        megapixels.append(rgb.shape[0] * rgb.shape[1] / 1e6)

        luma = luma_from_rgb(rgb)
        t3 = time.perf_counter()
        port, port_q = pdq_from_luma(luma)
        t_port.append(time.perf_counter() - t3)
        exact += (port, port_q) == (ref, ref_q)

        t4 = time.perf_counter()
        fast_luma = decode_luma(item, max_pixels=LIMIT, fast=True, keep_uint8=True)
        fast, fast_q = pdq_from_luma(fast_luma)
        t_fast.append(time.perf_counter() - t4)
        dist.append(hamming(fast, ref))
        qdiff.append(abs(fast_q - ref_q))

        t5 = time.perf_counter()
        plain.hash_luma(fast_luma)
        t6 = time.perf_counter()
        full.hash_luma(fast_luma)
        t_variants.append(time.perf_counter() - t6)
        t_plain.append(t6 - t5)

    d = np.array(dist)
    return {
        "images": len(paths),
        "megapixels_median": round(float(np.median(megapixels)), 2),
        "fast_vs_reference_bits": {
            "median": float(np.median(d)),
            "p90": float(np.percentile(d, 90)),
            "p99": float(np.percentile(d, 99)),
            "max": int(d.max()),
            "over_31": int((d > 31).sum()),
        },
        "quality_abs_diff_median": float(np.median(qdiff)),
        "port_equals_pdqhash": f"{exact}/{len(paths)}",
        "ms_per_image_median": {
            "reference_decode_plus_pdqhash": _ms(t_ref),
            "fast_decode_plus_port": _ms(t_fast),
            "pdqhash_hash_only": _ms(t_pdqhash),
            "port_hash_only_full_res": _ms(t_port),
            "port_on_fast_luma_plain": _ms(t_plain),
            "port_on_fast_luma_with_variants": _ms(t_variants),
        },
        "speedup_end_to_end": round(float(np.median(t_ref) / np.median(t_fast)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/childsafe-corpus"))
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.out), indent=2))


if __name__ == "__main__":
    main()
