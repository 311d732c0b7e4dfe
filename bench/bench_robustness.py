"""How well PDQ still matches an image after everyday edits, and what each childsafe step buys.

Modelled on thorn-oss/perception's ``perception/benchmarking`` (read, not copied): take benign
source photos, apply a fixed set of transforms, hash everything, and for each transform report
the recall at the distance threshold that still gives >= 99.9 % precision. A source's own
transform is a true positive; the nearest *other* source (other sources' transforms are
distractors too) and every image of an unrelated set are false positives. Unlike perception we
also report recall at the fixed production radius (31), because that is what a deployment uses,
and the unrelated set's false-positive rate at that radius.

The columns are hashing variants, so the table shows what each step buys and costs:

* ``plain`` — PDQ of the image as stored (what python-threatexchange computes);
* ``dihedral`` — plus the 7 rotated/mirrored hashes as query-side variants (flip, rotate 90);
* ``dihedral+trim`` — plus the hash of the image with uniform borders trimmed (letterboxing).

Bank entries are always one hash per source (variants are query-side, never stored), computed
by the same variant, as perception hashes its no-op images with the hasher under test. More
variants per query mean more chances to hit a wrong bank entry, hence the false-positive rows.
Queries whose PDQ quality is under the production floor (50) are never matched, as in production.

Sources are the first ``--n`` images of ``bench/corpus.py`` whose quality passes the floor and that
are not near-duplicates (within 50 bits, any orientation) of an earlier one: the corpus makes
collages of ten photos, and two crops of one photo would otherwise count as a "false" match.

Run ``python bench/bench_robustness.py [--n 100] [--json FILE]``; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

if str(Path(__file__).resolve().parent) not in sys.path:  # imported by path from the tests
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import unrelated_corpus
from robustness_dataset import (
    DUPLICATE_BITS,
    TRANSFORMS,
    distances,
    packed,
    pdq_hex,
    select_sources,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS_DIR = REPO / "out" / "bench-corpus"

Hasher = Callable[[Path], tuple[list[str], int]]  # path -> ([primary, *query variants], quality)


IDENTITY = "identity"  # the source file itself: its hashes are the bank entry's (distance 0)


# --- hashing variants -------------------------------------------------------------------------


def _childsafe(dihedral: bool, trim: bool) -> Callable[[], Hasher]:
    """childsafe's ``PDQHasher`` (fast JPEG path) with only the named variant steps switched on.

    Each variant hashes every file itself, so its time per image is a real measurement and
    the difference between columns is the cost of the step, not an estimate.
    """

    def make() -> Hasher:
        from childsafe.content.base import Item
        from childsafe.hashing.pdq import PDQHasher

        hasher = PDQHasher(dihedral=dihedral, trim_borders=trim)

        def run(path: Path) -> tuple[list[str], int]:
            hv = hasher.hash_item(Item.from_path(path))
            return [hv.value, *hv.variants], int(hv.quality or 0)

        return run

    return make


def _reference(dihedral: bool) -> Callable[[], Hasher]:
    """``pdqhash`` on the full upright RGB decode: the conformance oracle, and a fallback column."""

    def make() -> Hasher:
        import pdqhash

        def run(path: Path) -> tuple[list[str], int]:
            with Image.open(path) as im:
                rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            if dihedral:
                vectors, quality = pdqhash.compute_dihedral(rgb)
            else:
                vector, quality = pdqhash.compute(rgb)
                vectors = [vector]
            return [pdq_hex(v) for v in vectors], int(quality)

        return run

    return make


VARIANTS: dict[str, Callable[[], Hasher]] = {
    "plain": _childsafe(dihedral=False, trim=False),
    "dihedral": _childsafe(dihedral=True, trim=False),
    "dihedral+trim": _childsafe(dihedral=True, trim=True),
    "ref": _reference(dihedral=False),
    "ref-dihedral": _reference(dihedral=True),
}
DEFAULT_VARIANTS = ("plain", "dihedral", "dihedral+trim")

_HASHERS: dict[str, Hasher] = {}  # per process: hashers are built lazily where they run


def _hasher(name: str) -> Hasher:
    if name not in _HASHERS:
        _HASHERS[name] = VARIANTS[name]()
    return _HASHERS[name]


# --- work units (run in worker processes) -----------------------------------------------------


@dataclass(slots=True)
class Hashed:
    """The hashes of one file under every variant, and the seconds each variant took."""

    group: str  # "source", a transform name, or "unrelated"
    index: int  # source index (or unrelated index)
    hashes: dict[str, list[str]] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _hash_all(path: Path, group: str, index: int, variants: Sequence[str]) -> Hashed:
    """Hash with every variant, rotating which goes first so none always finds warm caches."""
    out = Hashed(group, index)
    k = index % len(variants)
    for name in (*variants[k:], *variants[:k]):
        t0 = time.perf_counter()
        hashes, quality = _hasher(name)(path)
        out.seconds[name] = time.perf_counter() - t0
        out.hashes[name], out.quality[name] = hashes, quality
    return out


def _source_task(
    args: tuple[int, Path, Path, tuple[str, ...], tuple[str, ...], int],
) -> list[Hashed]:
    """Hash one source, write each transform of it as a JPEG, and hash those."""
    index, path, work_dir, transforms, variants, seed = args
    results = [_hash_all(path, "source", index, variants)]
    with Image.open(path) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    for name in transforms:
        transform = TRANSFORMS[name]
        rng = np.random.default_rng([seed, index, zlib.crc32(name.encode())])
        target = work_dir / f"{index:05d}-{name}.jpg"
        transform.apply(upright, rng).save(target, "JPEG", quality=transform.quality)
        results.append(_hash_all(target, name, index, variants))
        target.unlink()
    return results


def _unrelated_task(args: tuple[int, Path, tuple[str, ...]]) -> list[Hashed]:
    index, path, variants = args
    return [_hash_all(path, "unrelated", index, variants)]


# --- metrics ----------------------------------------------------------------------------------

NEVER = 257  # distance given to queries under the quality floor: they never match


@dataclass(frozen=True, slots=True)
class Score:
    """Recall of one transform under one variant; ``threshold`` is None when no radius works."""

    n: int
    threshold: int | None
    recall_at_precision: float
    recall_at_radius: float
    low_quality: int


def threshold_recall(
    pos: npt.NDArray[np.int32], neg: npt.NDArray[np.int32], target: float
) -> tuple[int | None, float]:
    """The largest radius up to which precision never drops below ``target``, and its recall.

    As in perception, counting stops at the first radius that breaks the target (a later
    radius where true positives have caught up again is not offered): a deployment raising
    its radius step by step would stop there. Every negative within the radius is one false
    positive; at ~100 positives per transform, 99.9 % means "no false positive at all".
    """
    radii = np.arange(NEVER)
    tp = np.searchsorted(np.sort(pos), radii, side="right")
    fp = np.searchsorted(np.sort(neg), radii, side="right")
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
    bad = np.flatnonzero(precision < target)
    limit = int(bad[0]) if bad.size else NEVER
    if limit == 0 or not pos.size:
        return None, 0.0
    return limit - 1, float(tp[limit - 1] / pos.size)


def _stack(items: Sequence[Hashed], variant: str) -> npt.NDArray[np.uint64]:
    """(m, k, 4): every item's hashes, padded by repeating the primary (min is unchanged)."""
    k = max(len(it.hashes[variant]) for it in items)
    rows = [
        it.hashes[variant] + [it.hashes[variant][0]] * (k - len(it.hashes[variant])) for it in items
    ]
    return packed(h for row in rows for h in row).reshape(len(items), k, 4)


def _low(items: Sequence[Hashed], variant: str, floor: int) -> npt.NDArray[np.bool_]:
    return np.array([it.quality[variant] < floor for it in items], dtype=bool)


def evaluate(
    results: Sequence[Hashed],
    variants: Sequence[str],
    *,
    precision: float,
    radius: int,
    quality_floor: int,
) -> dict[str, Any]:
    """Per variant: a :class:`Score` per transform (and pooled), FP rates and hashing cost."""
    groups: dict[str, list[Hashed]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    sources = sorted(groups.pop("source"), key=lambda r: r.index)
    unrelated = groups.pop("unrelated", [])
    groups = {IDENTITY: sources, **{k: groups[k] for k in TRANSFORMS if k in groups}}
    out: dict[str, Any] = {}
    for v in variants:
        bank = _stack(sources, v)[:, 0, :]
        neg_u = np.full(len(unrelated), NEVER, dtype=np.int32)
        if unrelated:
            neg_u = distances(_stack(unrelated, v), bank).min(axis=1)
            neg_u[_low(unrelated, v, quality_floor)] = NEVER
        scores: dict[str, Score] = {}
        all_pos, all_neg = [], []
        for name, items in groups.items():
            items = sorted(items, key=lambda r: r.index)
            d = distances(_stack(items, v), bank)
            rows, own = np.arange(len(items)), np.array([it.index for it in items])
            pos = d[rows, own].copy()
            d[rows, own] = NEVER
            neg = d.min(axis=1) if d.shape[1] > 1 else np.full(len(items), NEVER, dtype=np.int32)
            low = _low(items, v, quality_floor)
            pos[low] = neg[low] = NEVER
            threshold, recall = threshold_recall(pos, np.concatenate([neg, neg_u]), precision)
            scores[name] = Score(
                len(items), threshold, recall, float(np.mean(pos <= radius)), int(low.sum())
            )
            if name != IDENTITY:
                all_pos.append(pos)
                all_neg.append(neg)
        if all_pos:
            pos, neg = np.concatenate(all_pos), np.concatenate(all_neg)
            threshold, recall = threshold_recall(pos, np.concatenate([neg, neg_u]), precision)
            low_n = int(sum(s.low_quality for k, s in scores.items() if k != IDENTITY))
            scores["all (pooled)"] = Score(
                pos.size, threshold, recall, float(np.mean(pos <= radius)), low_n
            )
        seconds = [r.seconds[v] for r in results]
        out[v] = {
            "scores": scores,
            "ms_per_image": 1000 * float(np.mean(seconds)),
            "fp_rate_unrelated": float(np.mean(neg_u <= radius)) if unrelated else None,
            "wrong_source_rate": float(np.mean(np.concatenate(all_neg) <= radius))
            if all_neg
            else None,
        }
    return out


# --- report -----------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(
    report: dict[str, Any], variants: Sequence[str], *, precision: float, radius: int
) -> str:
    """Two markdown tables: recall per transform (variants side by side), then costs."""
    p = f"{100 * precision:g} % P"
    header = ["transform"]
    for v in variants:
        header += [f"{v} R@{radius}", f"{v} R@{p} (radius)"]
    names = list(report[variants[0]]["scores"])
    rows = []
    for name in names:
        row = [name]
        for v in variants:
            s: Score = report[v]["scores"][name]
            row += [
                f"{s.recall_at_radius:.3f}",
                f"{s.recall_at_precision:.3f} ({s.threshold if s.threshold is not None else '-'})",
            ]
        rows.append(row)
    base = report[variants[0]]["ms_per_image"]

    def rate(x: float | None) -> str:
        return "-" if x is None else f"{x:.4f}"

    cost_rows = [
        [
            v,
            f"{report[v]['ms_per_image']:.1f}",
            f"{report[v]['ms_per_image'] - base:+.1f}",
            rate(report[v]["fp_rate_unrelated"]),
            rate(report[v]["wrong_source_rate"]),
        ]
        for v in variants
    ]
    cost_header = [
        "variant",
        "hash ms/image",
        f"extra vs {variants[0]}",
        f"unrelated FP rate @{radius}",
        f"wrong-source rate @{radius}",
    ]
    return _table(header, rows) + "\n\n" + _table(cost_header, cost_rows)


def to_json(report: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The figures as plain JSON: ``config`` plus, per variant, costs and per-transform scores."""
    variants = {
        v: {**{k: x for k, x in r.items() if k != "scores"}, "transforms": {}}
        for v, r in report.items()
    }
    for v, r in report.items():
        variants[v]["transforms"] = {name: asdict(s) for name, s in r["scores"].items()}
    return {"config": config, "variants": variants}


# --- main -------------------------------------------------------------------------------------


def _init_worker(variants: tuple[str, ...], warm: Path) -> None:
    """Build and JIT-warm the hashers so the first timed image does not pay for it."""
    for v in variants:
        _hasher(v)(warm)


def _job(job: tuple[str, Any]) -> list[Hashed]:
    kind, args = job
    return _source_task(args) if kind == "source" else _unrelated_task(args)


def _names(text: str, known: Iterable[str], what: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [x for x in names if x not in set(known)]
    if unknown or not names:
        raise SystemExit(
            f"unknown {what}: {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}"
        )
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=100, help="source photos (default 100)")
    ap.add_argument("--unrelated", type=int, default=200, help="unrelated images (default 200)")
    ap.add_argument(
        "--variants", default=",".join(DEFAULT_VARIANTS), help=f"of {', '.join(VARIANTS)}"
    )
    ap.add_argument("--transforms", default=",".join(TRANSFORMS), help="comma list (default: all)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--precision", type=float, default=0.999)
    ap.add_argument("--radius", type=int, default=31, help="production PDQ radius")
    ap.add_argument("--quality-floor", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-megapixels", type=float, default=1.0)
    ap.add_argument(
        "--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR, help="cache of corpus images"
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    variants = _names(args.variants, VARIANTS, "variant")
    transforms = _names(args.transforms, TRANSFORMS, "transform")
    start = time.perf_counter()
    sources, skipped = select_sources(
        args.corpus_dir,
        args.n,
        seed=args.seed,
        min_megapixels=args.min_megapixels,
        quality_floor=args.quality_floor,
    )
    unrelated = unrelated_corpus(
        args.corpus_dir, args.unrelated, args.seed, min_megapixels=args.min_megapixels
    )
    try:  # fail early, with a hint, when a variant's implementation is missing
        _init_worker(variants, sources[0])
    except ImportError as exc:
        print(
            f"a variant is not available ({exc}); try --variants ref,ref-dihedral", file=sys.stderr
        )
        return 2
    work_dir = Path(tempfile.mkdtemp(prefix="childsafe-robustness-"))
    jobs: list[tuple[str, Any]] = [
        ("source", (i, p, work_dir, transforms, variants, args.seed)) for i, p in enumerate(sources)
    ]
    jobs += [("unrelated", (j, p, variants)) for j, p in enumerate(unrelated)]
    results: list[Hashed] = []
    try:
        if args.workers > 1:
            ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding threads
            with ctx.Pool(args.workers, _init_worker, (variants, sources[0])) as pool:
                for batch in pool.imap_unordered(_job, jobs):
                    results.extend(batch)
        else:
            for job in jobs:
                results.extend(_job(job))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report = evaluate(
        results,
        variants,
        precision=args.precision,
        radius=args.radius,
        quality_floor=args.quality_floor,
    )
    wall = time.perf_counter() - start
    config = {k: v for k, v in vars(args).items() if k not in ("json", "corpus_dir")}
    config |= {"transforms": [IDENTITY, *transforms], "variants": list(variants)}
    config |= {"skipped_sources": skipped, "wall_seconds": round(wall, 1)}
    print(
        f"## PDQ robustness: {len(sources)} sources x {len(transforms)} transforms, "
        f"{len(unrelated)} unrelated, {args.workers} workers, {wall:.0f} s\n"
    )
    print(render(report, variants, precision=args.precision, radius=args.radius))
    print(
        f"\nSkipped corpus images: {skipped['low_quality']} under quality {args.quality_floor}, "
        f"{skipped['near_duplicate']} near-duplicates (<= {DUPLICATE_BITS} bits). "
        "R@radius: recall at the production radius; R@P: recall at the largest radius that keeps "
        "the precision target (radius in brackets)."
    )
    if args.json:
        args.json.write_text(json.dumps(to_json(report, config), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
