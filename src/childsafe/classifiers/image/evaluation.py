"""What the image classifiers can honestly be measured on: benign images only.

No nude image, and no image of a child in any sexual context, may ever be held by this
project, so nudity *recall* and minor-detection recall in the setting that matters cannot be
measured here (docs/models/ say what is known from the models' authors). What can be
measured on benign material, and is measured by :func:`evaluate_images`:

* false-positive rates: ``nsfw`` on ordinary photos, ``face_age`` calling an adult face
  ``minor`` or ``uncertain``, ``image_risk`` asking for review of an ordinary photo;
* face detection rate on images with a (frontal, adult) face, and faces "found" in images
  with no one;
* per-image latency, decode included, one image per call.

The images all ship with scikit-image (the ``bench`` extra): its photos with adult faces
(``astronaut``; ``camera``, a man at a tripod, a half-profile HOG usually misses), its
labelled LFW subset (25x25 crops: 100 faces of public figures, taken as adults but not
age-verified, and 100 non-face patches, each upscaled 4x and padded so the detector's
80-pixel window can see them), its photos with no one in them, generated shapes and noise,
and flips and resizes of these for more samples. Every rate comes with a 95 % interval
(:func:`~childsafe.classifiers.evaluation.binary_metrics`); with a few hundred images an
observed 0 still allows a rate of about 1 %.
"""

from __future__ import annotations

import io
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from childsafe.classifiers.base import Classifier, ClassifierResult, Priority
from childsafe.classifiers.evaluation import EvalReport, binary_metrics, latency_summary
from childsafe.classifiers.image.age import AgeBandRule, FaceAgeClassifier, age_band
from childsafe.classifiers.image.nsfw import NSFWClassifier
from childsafe.classifiers.image.risk import YOUNG_BANDS, ImageRiskClassifier
from childsafe.content.base import Item
from childsafe.errors import ConfigError

RECALL_NOTE = (
    "nudity recall cannot be measured here: no such material may be held; see the model card"
)
FACE_PHOTOS = ("astronaut", "camera")
NO_ONE_PHOTOS = (
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "logo",
    "coins",
    "clock",
    "moon",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "cell",
    "horse",
    "checkerboard",
)
DATASET = "skimage-benign"


@dataclass(frozen=True, slots=True)
class BenignImage:
    """One evaluation image: an in-memory JPEG, and whether a (frontal adult) face is in it."""

    item: Item
    has_face: bool


def benign_images(*, lfw: int = 100, variants: bool = True, seed: int = 0) -> list[BenignImage]:
    """The evaluation set (see the module docstring); ``lfw`` LFW faces and as many non-faces."""
    try:
        import skimage.data
        from skimage.draw import random_shapes
    except ImportError as exc:
        raise ConfigError(
            "the image evaluation needs scikit-image's sample images: "
            "pip install 'childsafe[bench]'"
        ) from exc
    out: list[BenignImage] = []

    def add(name: str, pixels: npt.NDArray[Any], has_face: bool) -> None:
        rgb = _as_rgb(pixels)
        shown = [(name, rgb)]
        if variants:
            shown += [
                (f"{name}~flip", np.ascontiguousarray(rgb[:, ::-1])),
                (f"{name}~x0.75", _resize(rgb, 0.75)),
                (f"{name}~x1.5", _resize(rgb, 1.5)),
            ]
        for key, px in shown:
            out.append(BenignImage(Item.from_bytes(_encode(px), id=key), has_face))

    for name in FACE_PHOTOS:
        add(name, getattr(skimage.data, name)(), True)
    crops = skimage.data.lfw_subset()  # type: ignore[no-untyped-call]
    for i in range(min(lfw, 100)):
        face = _lfw_canvas(crops[i])
        out.append(BenignImage(Item.from_bytes(_encode(face), id=f"lfw-face-{i}"), True))
        if variants:
            flipped = np.ascontiguousarray(face[:, ::-1])
            out.append(
                BenignImage(Item.from_bytes(_encode(flipped), id=f"lfw-face-{i}~flip"), True)
            )
    for name in NO_ONE_PHOTOS:
        add(name, getattr(skimage.data, name)(), False)
    for i in range(min(lfw, 100)):
        patch = _lfw_canvas(crops[100 + i])
        out.append(BenignImage(Item.from_bytes(_encode(patch), id=f"lfw-nonface-{i}"), False))
    rng = np.random.default_rng(seed)
    for i in range(8):
        shapes, _ = random_shapes(  # type: ignore[no-untyped-call]
            (320, 320), max_shapes=10, min_size=20, rng=seed + i
        )
        add(f"shapes-{i}", shapes, False)
    for i in range(4):
        noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        out.append(BenignImage(Item.from_bytes(_encode(noise), id=f"noise-{i}"), False))
    return out


def evaluate_images(
    *,
    lfw: int = 100,
    variants: bool = True,
    classifiers: Sequence[Classifier] | None = None,
    data: Sequence[BenignImage] | None = None,
) -> list[EvalReport]:
    """False-positive rates, face detection rate and latency of the three image classifiers.

    Each classifier scores every image on its own (one image per call, decode included), so
    the latency is what a screening call would see on this machine. ``classifiers`` (nsfw,
    face_age, image_risk, in that order) and ``data`` replace the defaults.
    """
    if data is None:
        data = benign_images(lfw=lfw, variants=variants)
    nsfw, faces, risk = classifiers or (
        NSFWClassifier(),
        FaceAgeClassifier(),
        ImageRiskClassifier(),
    )
    machine = {
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    reports = [
        _nsfw_report(nsfw, data),
        _face_report(faces, data),
        _risk_report(risk, data),
    ]
    for report in reports:
        report.extra["machine"] = machine
    return reports


@dataclass(slots=True)
class _Run:
    """One classifier over the set: the images it scored, their results, times, errors."""

    scored: list[BenignImage]
    results: list[ClassifierResult]
    seconds: list[float]
    errors: list[str]


def _run(clf: Classifier, data: Sequence[BenignImage]) -> _Run:
    clf.setup()
    clf.classify([data[0].item])  # warm-up: first-call allocations are not latency
    run = _Run([], [], [], [])
    for entry in data:
        start = time.perf_counter()
        (result,) = clf.classify([entry.item])
        run.seconds.append(time.perf_counter() - start)
        if result.error:  # a benign image that fails is reported, never dropped silently
            run.errors.append(result.error)
        else:
            run.scored.append(entry)
            run.results.append(result)
    return run


def _report(
    clf: Classifier, n: int, run: _Run, notes: list[str], extra: dict[str, Any]
) -> EvalReport:
    if run.errors:
        notes = [*notes, f"{len(run.errors)} image(s) could not be scored; see extra.errors"]
        extra = {**extra, "errors": run.errors}
    return EvalReport(
        classifier=clf.name,
        model=clf.model,
        dataset=DATASET,
        n_items=n,
        latency=latency_summary(run.seconds),
        notes=notes,
        extra=extra,
    )


def _nsfw_report(clf: Classifier, data: Sequence[BenignImage]) -> EvalReport:
    run = _run(clf, data)
    scores = [r.scores["nsfw"] for r in run.results]
    negatives = [False] * len(scores)
    report = _report(
        clf,
        len(data),
        run,
        [RECALL_NOTE, "every image is benign: only false positives can be counted"],
        {
            "bands": dict(Counter(str(r.details["band"]) for r in run.results)),
            "max_score": max(scores, default=0.0),
            "worst": _worst(run.scored, scores),
        },
    )
    report.metrics = [
        binary_metrics("nsfw", negatives, ["nsfw" in r.flagged for r in run.results]),
        binary_metrics("nsfw_uncertain_or_high", negatives, [s >= 0.2 for s in scores]),
    ]
    return report


def _face_report(clf: Classifier, data: Sequence[BenignImage]) -> EvalReport:
    run = _run(clf, data)
    found = [int(r.details["n_faces"]) > 0 for r in run.results]
    truth = [d.has_face for d in run.scored]
    adult = [r for r, d, f in zip(run.results, run.scored, found, strict=True) if d.has_face and f]
    bands = Counter(str(face["band"]) for r in adult for face in r.details["faces"])
    ages = [float(face["expected_age"]) for r in adult for face in r.details["faces"]]
    negatives = [False] * len(adult)
    percentiles = (
        {str(q): round(float(np.percentile(ages, q)), 1) for q in (5, 25, 50, 75, 95)}
        if ages
        else {}
    )
    report = _report(
        clf,
        len(data),
        run,
        [
            "face: recall is the detection rate on images with a face, fpr the share of "
            "no-one images where a face was 'found'",
            "minor / minor_or_uncertain: over images of adults where a face was found "
            "(LFW subjects are public figures, taken as adults, not age-verified; their "
            "25x25 crops are upscaled, which widens the age distributions)",
        ],
        {
            "bands_of_adult_faces": dict(bands),
            "minor_or_uncertain_fpr_if_uncertain_up_to": _sweep(adult),
            "expected_age_percentiles": percentiles,
        },
    )
    report.metrics = [
        binary_metrics("face", truth, found),
        binary_metrics("minor", negatives, ["minor" in r.flagged for r in adult]),
        binary_metrics(
            "minor_or_uncertain",
            negatives,
            [any(face["band"] in YOUNG_BANDS for face in r.details["faces"]) for r in adult],
        ),
    ]
    return report


def _risk_report(clf: Classifier, data: Sequence[BenignImage]) -> EvalReport:
    run = _run(clf, data)
    negatives = [False] * len(run.results)
    report = _report(
        clf,
        len(data),
        run,
        [RECALL_NOTE, "review = priority MEDIUM or HIGH; every image is benign"],
        {"priorities": dict(Counter(r.priority.name.lower() for r in run.results))},
    )
    report.metrics = [
        binary_metrics("risk", negatives, ["risk" in r.flagged for r in run.results]),
        binary_metrics("review", negatives, [r.priority >= Priority.MEDIUM for r in run.results]),
    ]
    return report


def _sweep(adult: Sequence[ClassifierResult]) -> dict[str, float]:
    """The adult-face false-positive rate of ``minor_or_uncertain`` had the band's upper age
    been lower (the 80 % interval kept): what tuning :class:`AgeBandRule` would buy."""
    out: dict[str, float] = {}
    for high in (19, 21, 23, 25):
        rule = AgeBandRule(uncertain_high=high)
        hits = sum(
            any(
                age_band(f["p_minor"], f["expected_age"], tuple(f["interval80"]), rule)
                in YOUNG_BANDS
                for f in r.details["faces"]
            )
            for r in adult
        )
        out[str(high)] = round(hits / len(adult), 4) if adult else 0.0
    return out


def _worst(data: Sequence[BenignImage], scores: Sequence[float]) -> list[list[Any]]:
    ranked = sorted(zip(scores, (d.item.id for d in data), strict=True), reverse=True)[:3]
    return [[name, round(score, 4)] for score, name in ranked]


def _as_rgb(pixels: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    a = np.asarray(pixels)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = (np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def _resize(rgb: npt.NDArray[np.uint8], factor: float) -> npt.NDArray[np.uint8]:
    h, w = rgb.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


def _lfw_canvas(crop: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """A 25x25 LFW crop upscaled to 100x100 on a 200x200 grey canvas (HOG needs ~80 px)."""
    face = Image.fromarray((np.clip(crop, 0, 1) * 255).astype(np.uint8))
    big = face.resize((100, 100), Image.Resampling.BICUBIC).convert("RGB")
    canvas = Image.new("RGB", (200, 200), (128, 128, 128))
    canvas.paste(big, (50, 50))
    return np.asarray(canvas)


def _encode(rgb: npt.NDArray[np.uint8]) -> bytes:
    """JPEG at quality 95: what most photos are, and 10x quicker to write than PNG."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def format_reports(reports: Sequence[EvalReport]) -> str:
    """A plain-text table of the reports (rates with 95 % intervals, latency p50/p99)."""
    lines: list[str] = []
    for r in reports:
        lat = r.latency
        lines.append(
            f"{r.classifier} ({r.model.name} {r.model.version}) on {r.dataset}, "
            f"n={r.n_items}: p50 {lat.get('p50_ms', 0):.1f} ms, p99 {lat.get('p99_ms', 0):.1f} ms"
        )
        for m in r.metrics:
            rate = f"fpr {m.fpr:.3f} [{m.fpr_ci[0]:.3f}, {m.fpr_ci[1]:.3f}]"
            if m.tp + m.fn:
                rate = (
                    f"recall {m.recall:.3f} [{m.recall_ci[0]:.3f}, {m.recall_ci[1]:.3f}]  " + rate
                )
            lines.append(f"  {m.label:<24} n={m.n:<4} {rate}")
        for note in r.notes:
            lines.append(f"  note: {note}")
    return "\n".join(lines)


__all__ = ["RECALL_NOTE", "BenignImage", "benign_images", "evaluate_images", "format_reports"]

if __name__ == "__main__":  # python -m childsafe.classifiers.image.evaluation
    print(format_reports(evaluate_images()))
