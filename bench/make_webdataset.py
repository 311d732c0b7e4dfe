"""A benign WebDataset "sized like a web crawl", a LAION-style hashes table and demo banks.

    python bench/make_webdataset.py                        # 10,000 images, 2,000,000 rows
    python bench/make_webdataset.py --n 500 --rows 100000  # smoke size

Everything is built from the photos that ship inside scikit-image and from procedural
drawings (DESIGN rule 1: no downloads, nothing but benign content). Outputs, under
``out/bench-wds/`` (``out/`` is git-ignored), are deterministic in ``--seed`` and reused when
present, so the benchmark pays for them once:

* ``shards-s<seed>-k<K>/shard-NNNNN.tar``: WebDataset shards of ``--shard-size`` (K = 1,000)
  samples; a dataset of ``--n`` samples is the first ``ceil(N / K)`` of them (a last, partial
  one is ``shard-NNNNN-n<count>.tar``), so datasets of every size share their shards. Samples are
  ``<key>.{jpg,png,webp}`` + ``<key>.txt`` (caption, "a photo of a rocket") +
  ``<key>.json`` (``url`` ``https://example.org/img/<n>.<ext>``, ``license``, size).
  Images are mostly 256-1024 px on the long side, JPEG at quality 70-95 (a fifth of them
  progressive), with 8 % PNG and 7 % WebP: the mix of a web crawl, at roughly its file sizes.
  Item ``i`` depends only on ``(seed, i)``, so a smaller run is a prefix of a larger one.
* ``hashes-m<M>-s<seed>.parquet``: ``id, url, caption, md5, sha256, pdq`` with random hex, in
  row groups of 100,000: the shape of a LAION metadata table with precomputed hashes (the
  Re-LAION method scans only this).
* ``banks-n<N>-m<M>-s<seed>/``: ``exact.csv`` (md5 + sha256) and ``pdq.csv`` in the
  ``hash_type,hash,label`` CSV that ``childsafe banks import`` reads. They hold the hashes of
  every ``--plant-every``-th image (PDQ as python-threatexchange's ``PdqSignal`` computes it,
  the reference), the hashes of ``--plant-rows`` table rows, and random filler up to
  ``--exact-bank-size`` per type and ``--pdq-bank-size``; ``planted.json`` lists what was
  planted, so a benchmark can check that every plant is found.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "out" / "bench-wds"

# scikit-image photo -> what a caption calls it
PHOTOS: dict[str, str] = {
    "astronaut": "an astronaut",
    "coffee": "a cup of coffee",
    "chelsea": "a cat",
    "rocket": "a rocket",
    "camera": "a man with a camera",
    "coins": "old coins",
    "moon": "the surface of the moon",
    "horse": "a horse",
    "hubble_deep_field": "galaxies in deep space",
    "immunohistochemistry": "stained tissue under a microscope",
    "page": "a printed page",
    "brick": "a brick wall",
    "grass": "grass",
    "gravel": "gravel",
}
SHAPES = ("circles", "stripes", "squares", "lines")
LICENCES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "unknown")
ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3, 9 / 16)
BANK_LABEL = "demo-known"
HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


@dataclass(frozen=True, slots=True)
class Paths:
    """Where one configuration's artefacts live."""

    shards: list[Path]
    table: Path
    banks: Path

    @property
    def source(self) -> str:
        """The shards as one WebDataset source: a brace pattern ``reader_for`` understands."""
        folder = self.shards[0].parent
        names = ",".join(p.name.removesuffix(".tar") for p in self.shards)
        return f"{folder}/{{{names}}}.tar" if len(self.shards) > 1 else str(self.shards[0])


def paths(out: Path, n: int, rows: int, seed: int, shard_size: int = 1000) -> Paths:
    folder = out / f"shards-s{seed}-k{shard_size}"
    shards = []
    for k, start in enumerate(range(0, n, shard_size)):
        count = min(n, start + shard_size) - start
        tail = "" if count == shard_size else f"-n{count}"
        shards.append(folder / f"shard-{k:05d}{tail}.tar")
    return Paths(
        shards=shards,
        table=out / f"hashes-m{rows}-s{seed}.parquet",
        banks=out / f"banks-n{n}-m{rows}-s{seed}-k{shard_size}",
    )


# --- images -------------------------------------------------------------------------------


@cache
def _photo(name: str) -> Image.Image:
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.dtype == bool:
        arr = np.where(arr, 255, 0).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def _size(rng: np.random.Generator) -> tuple[int, int]:
    long_side = int(rng.integers(256, 1025))
    aspect = float(rng.choice(ASPECTS))
    if aspect >= 1:
        return long_side, max(64, round(long_side / aspect))
    return max(64, round(long_side * aspect)), long_side


def _photo_image(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, str]:
    name = str(rng.choice(list(PHOTOS)))
    src = _photo(name)
    w, h = src.size
    aspect = size[0] / size[1]
    side = rng.uniform(0.4, 1.0)
    cw = min(w, round(min(w, h * aspect) * side))
    ch = min(h, max(8, round(cw / aspect)))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = src.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gain = rng.uniform(0.8, 1.2, 3)
    arr = np.clip(np.asarray(img, dtype=np.float32) * gain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr), f"a photo of {PHOTOS[name]}"


def _procedural_image(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, str]:
    w, h = size
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    grad = (c0 * (1 - t) + c1 * t).astype(np.uint8)
    img = Image.fromarray(np.repeat(grad, h, axis=0))
    draw = ImageDraw.Draw(img)
    shape = str(rng.choice(SHAPES))
    for _ in range(int(rng.integers(5, 30))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(4, max(5, min(w, h) // 3)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if shape == "circles":
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=fill)
        elif shape == "squares":
            draw.rectangle((x0, y0, x0 + r, y0 + r), fill=fill)
        elif shape == "stripes":
            draw.rectangle((x0, 0, x0 + r // 3 + 1, h), fill=fill)
        else:
            draw.line(
                (x0, y0, int(rng.integers(0, w)), int(rng.integers(0, h))), fill=fill, width=3
            )
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    return img, f"an abstract pattern of {shape}"


def make_sample(seed: int, i: int) -> tuple[bytes, str, str, dict[str, Any]]:
    """Image bytes, extension, caption and JSON metadata of sample ``i`` (depends on seed, i)."""
    rng = np.random.default_rng([seed, i])
    size = _size(rng)
    img, caption = (_procedural_image if rng.random() < 0.15 else _photo_image)(rng, size)
    roll = rng.random()
    buf = io.BytesIO()
    if roll < 0.08:
        ext = "png"
        img.save(buf, "PNG", optimize=False, compress_level=6)
    elif roll < 0.15:
        ext = "webp"
        img.save(buf, "WEBP", quality=int(rng.integers(70, 91)))
    else:
        ext = "jpg"
        progressive = bool(rng.random() < 0.2)
        img.save(buf, "JPEG", quality=int(rng.integers(70, 96)), progressive=progressive)
    meta = {
        "url": f"https://example.org/img/{i}.{ext}",
        "license": str(rng.choice(LICENCES)),
        "width": img.size[0],
        "height": img.size[1],
    }
    return buf.getvalue(), ext, caption, meta


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_shard(args: tuple[Path, int, int, int]) -> tuple[str, int, int]:
    """Write one tar atomically; returns (name, samples, image bytes). Reuses a finished one."""
    path, seed, start, stop = args
    if path.exists():
        return path.name, stop - start, -1
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    total = 0
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(start, stop):
            data, ext, caption, meta = make_sample(seed, i)
            key = f"{i:08d}"
            _add(tar, f"{key}.{ext}", data)
            _add(tar, f"{key}.txt", caption.encode())
            _add(tar, f"{key}.json", json.dumps(meta, sort_keys=True).encode())
            total += len(data)
    tmp.replace(path)
    return path.name, stop - start, total


def build_webdataset(p: Paths, seed: int, shard_size: int = 1000, workers: int = 2) -> None:
    """Build the shards of ``p`` that are missing, in parallel."""
    jobs = [(path, seed, k * shard_size) for k, path in enumerate(p.shards)]
    missing = [
        (path, seed, start, start + _count(path, shard_size))
        for path, seed, start in jobs
        if not path.exists()
    ]
    if not missing:
        return
    missing[0][0].parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if workers > 1 and len(missing) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(min(workers, len(missing))) as pool:
            done = pool.map(write_shard, missing, chunksize=1)
    else:
        done = [write_shard(j) for j in missing]
    mb = sum(b for _, _, b in done) / 1e6
    print(
        f"built {len(missing)} WebDataset shards ({mb:.0f} MB of images) "
        f"in {time.perf_counter() - t0:.0f} s under {missing[0][0].parent}"
    )


def _count(path: Path, shard_size: int) -> int:
    _, _, tail = path.stem.partition("-n")
    return int(tail) if tail else shard_size


# --- hashes table and banks -----------------------------------------------------------------


def _hex_column(rng: np.random.Generator, rows: int, nbytes: int) -> pa.Array:
    """``rows`` random lowercase hex strings of ``nbytes`` bytes, built without Python loops."""
    data = HEX[rng.integers(0, 256, (rows, nbytes), dtype=np.uint8)].tobytes()
    width = 2 * nbytes
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data)).cast(
        pa.string()
    )


def _random_hex(rng: np.random.Generator, count: int, nbytes: int) -> list[str]:
    return [
        bytes(HEX[row]).decode() for row in rng.integers(0, 256, (count, nbytes), dtype=np.uint8)
    ]


def plant_rows(rows: int, count: int, seed: int) -> dict[int, dict[str, str]]:
    """Row index -> the known hashes planted there (deterministic in ``seed``)."""
    rng = np.random.default_rng([seed, 1])
    where = sorted({int(r) for r in rng.choice(rows, min(rows, count), replace=False)})
    return {
        r: {"md5": m, "sha256": s, "pdq": q}
        for r, m, s, q in zip(
            where,
            _random_hex(rng, len(where), 16),
            _random_hex(rng, len(where), 32),
            _random_hex(rng, len(where), 32),
            strict=True,
        )
    }


def build_table(p: Paths, rows: int, seed: int, plants: dict[int, dict[str, str]]) -> Path:
    """The hashes-only Parquet table (cached)."""
    if p.table.exists():
        return p.table
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 2])
    tmp = p.table.with_suffix(".tmp")
    p.table.parent.mkdir(parents=True, exist_ok=True)
    group = 100_000
    schema = pa.schema([(c, pa.string()) for c in ("id", "url", "caption", "md5", "sha256", "pdq")])
    subjects = pa.array([f"a photo of {v}" for v in PHOTOS.values()])
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, group):
            m = min(group, rows - start)
            ids = pa.array([f"row-{i:09d}" for i in range(start, start + m)])
            cols = {
                "md5": _hex_column(rng, m, 16),
                "sha256": _hex_column(rng, m, 32),
                "pdq": _hex_column(rng, m, 32),
            }
            for r in (r for r in plants if start <= r < start + m):
                for name, value in plants[r].items():
                    col = cols[name].to_pylist()  # rare: only groups holding a plant
                    col[r - start] = value
                    cols[name] = pa.array(col, pa.string())
            pick = pa.array(rng.integers(0, len(subjects), m))
            urls = pa.array([f"https://example.org/img/{i}.jpg" for i in range(start, start + m)])
            writer.write_table(
                pa.table(
                    {"id": ids, "url": urls, "caption": subjects.take(pick), **cols}, schema=schema
                )
            )
    tmp.replace(p.table)
    print(f"built {rows:,}-row hashes table in {time.perf_counter() - t0:.0f} s: {p.table}")
    return p.table


def _image_hashes(shards: Sequence[Path], every: int) -> list[dict[str, str]]:
    """md5, sha256 and reference PDQ (python-threatexchange) of every ``every``-th image."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    out: list[dict[str, str]] = []
    index = 0
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar:
                if member.name.rsplit(".", 1)[-1] not in ("jpg", "png", "webp"):
                    continue
                if index % every == 0:
                    f = tar.extractfile(member)
                    assert f is not None
                    data = f.read()
                    out.append(
                        {
                            "member": f"{shard.name}/{member.name}",
                            "md5": hashlib.md5(data).hexdigest(),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "pdq": PdqSignal.hash_from_bytes(data),
                        }
                    )
                index += 1
    return out


def build_banks(
    p: Paths,
    shards: Sequence[Path],
    plants: dict[int, dict[str, str]],
    *,
    every: int,
    exact_size: int,
    pdq_size: int,
    seed: int,
) -> Path:
    """``exact.csv``, ``pdq.csv`` and ``planted.json`` under ``p.banks`` (cached)."""
    done = p.banks / "planted.json"
    if done.exists():
        return p.banks
    p.banks.mkdir(parents=True, exist_ok=True)
    images = _image_hashes(shards, every)
    rng = np.random.default_rng([seed, 3])
    known = [*images, *plants.values()]
    exact = [("md5", k["md5"]) for k in known] + [("sha256", k["sha256"]) for k in known]
    fill = max(0, exact_size - len(known))
    exact += [("md5", h) for h in _random_hex(rng, fill, 16)]
    exact += [("sha256", h) for h in _random_hex(rng, fill, 32)]
    pdqs = [("pdq", k["pdq"]) for k in known if k["pdq"]]
    pdqs += [("pdq", h) for h in _random_hex(rng, max(0, pdq_size - len(pdqs)), 32)]
    for name, entries in (("exact.csv", exact), ("pdq.csv", pdqs)):
        lines = ["hash_type,hash,label", *(f"{t},{h},{BANK_LABEL}" for t, h in entries)]
        (p.banks / name).write_text("\n".join(lines) + "\n")
    planted = {
        "images": images,
        "rows": {str(r): v for r, v in plants.items()},
        "exact_bank_size": len(exact),
        "pdq_bank_size": len(pdqs),
    }
    done.write_text(json.dumps(planted, indent=1))
    return p.banks


def build_all(
    out: Path = DEFAULT_OUT,
    *,
    n: int = 10_000,
    rows: int = 2_000_000,
    seed: int = 0,
    shard_size: int = 1000,
    plant_every: int = 500,
    plant_rows_count: int = 200,
    exact_bank_size: int = 100_000,
    pdq_bank_size: int = 10_000,
    workers: int = 2,
) -> Paths:
    """Build (or reuse) the WebDataset, the hashes table and the banks; returns their paths."""
    p = paths(out, n, rows, seed, shard_size)
    build_webdataset(p, seed, shard_size, workers)
    plants = plant_rows(rows, plant_rows_count, seed)
    build_table(p, rows, seed, plants)
    build_banks(
        p,
        p.shards,
        plants,
        every=plant_every,
        exact_size=exact_bank_size,
        pdq_size=pdq_bank_size,
        seed=seed,
    )
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="images (default 10,000)")
    ap.add_argument("--rows", type=int, default=2_000_000, help="hashes-table rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-size", type=int, default=1000)
    ap.add_argument("--plant-every", type=int, default=500, help="bank every k-th image")
    ap.add_argument("--plant-rows", type=int, default=200, help="table rows planted in banks")
    ap.add_argument("--exact-bank-size", type=int, default=100_000, help="md5 and sha256 each")
    ap.add_argument("--pdq-bank-size", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    p = build_all(
        a.out,
        n=a.n,
        rows=a.rows,
        seed=a.seed,
        shard_size=a.shard_size,
        plant_every=a.plant_every,
        plant_rows_count=a.plant_rows,
        exact_bank_size=a.exact_bank_size,
        pdq_bank_size=a.pdq_bank_size,
        workers=a.workers,
    )
    size = sum(s.stat().st_size for s in p.shards)
    print(f"{len(p.shards)} shards, {size / 1e6:.0f} MB: {p.source}")
    print(f"table: {p.table} ({p.table.stat().st_size / 1e6:.0f} MB)")
    print(f"banks: {p.banks}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
