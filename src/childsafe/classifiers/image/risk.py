"""``image_risk``: nudity and apparent age together, to order the review queue.

Neither model alone says what matters. open_nsfw knows nothing about age, and a child's face
in a family photo is not a risk. Their conjunction is what must reach a human first, so this
classifier runs both over one decode per image (each image is decoded, turned into both
models' inputs and released before the next; each network then runs once over the batch)
and applies a rule to their outputs:

=====================================  ==========================  ===========
nudity (P(nsfw))                       faces                       priority
=====================================  ==========================  ===========
high (>= the nsfw threshold, 0.8)      any minor_likely/uncertain  ``HIGH``
high                                   only adult_likely, or none  ``MEDIUM``
uncertain (0.2 up to the threshold)    any minor_likely/uncertain  ``MEDIUM``
uncertain                              only adult_likely, or none  ``LOW``
low (< 0.2)                            any                         ``NONE``
=====================================  ==========================  ===========

"High nudity with only adult faces" is adult-content review, not a child-safety case; "high
nudity and no face at all" is also ``MEDIUM``, because without a face the age is unknown.
The age bands are ``face_age``'s (:func:`~childsafe.classifiers.image.age.age_band`):
``uncertain`` covers apparent ages 13-25, where age estimates are least reliable, so a young
adult is reviewed as if they might be a minor. That is deliberate: the review is cheap, the
miss is not.

Scores: ``nsfw`` (P(nsfw)), ``minor`` (max P(age < 18) over faces) and ``risk``::

    risk = P(nsfw) * max over faces of y(face),  y = 1 if the face is minor_likely or
                                                     uncertain, else P(age < 18)

(0 without faces). So ``risk`` equals P(nsfw) when a face may be a minor's, and is small
otherwise (an adult_likely face has most of its age mass above 25). Its threshold follows the
``nsfw`` threshold unless set on its own, so by default ``risk`` is flagged exactly when the
``HIGH`` rule fires. Nothing here is a verdict: the scores and priority only route an image
to a human (DESIGN rule 3), and the reasons are in the evidence for that human.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from childsafe.classifiers.base import (
    Classifier,
    ClassifierResult,
    Evidence,
    ModelInfo,
    Priority,
    flag,
)
from childsafe.classifiers.image._decode import DEFAULT_MAX_PIXELS, decode_item, runtime_limits
from childsafe.classifiers.image.age import AgeBandRule, Detected, FaceAge, FaceAgeClassifier
from childsafe.classifiers.image.nsfw import NSFW_AT, NSFWClassifier, nsfw_band
from childsafe.content.base import Item

YOUNG_BANDS = frozenset({"minor_likely", "uncertain"})


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The rule's outcome for one image: scores, priority and the reasons for it."""

    scores: dict[str, float]
    priority: Priority
    nsfw_band: str
    reasons: tuple[str, ...]


def risk_score(nsfw: float, faces: Sequence[FaceAge]) -> float:
    """P(nsfw) times the youngest-looking face's weight (see the module docstring)."""
    youth = max(
        (1.0 if f.band in YOUNG_BANDS else f.p_minor for f in faces),
        default=0.0,
    )
    return nsfw * youth


def assess(
    nsfw: float, faces: Sequence[FaceAge], nsfw_threshold: float = NSFW_AT
) -> RiskAssessment:
    """Apply the priority rule to one image's P(nsfw) and faces (a pure function)."""
    band = nsfw_band(nsfw, nsfw_threshold)
    young = [i for i, f in enumerate(faces, start=1) if f.band in YOUNG_BANDS]
    scores = {
        "nsfw": nsfw,
        "minor": max((f.p_minor for f in faces), default=0.0),
        "risk": risk_score(nsfw, faces),
    }
    nudity = f"nudity {band} (P(nsfw)={nsfw:.2f})"
    if young:
        who = ", ".join(f"face {i} {faces[i - 1].band}" for i in young)
    elif faces:
        who = "only adult-likely faces"
    else:
        who = "no face found: apparent age unknown"
    if band == "high":
        priority = Priority.HIGH if young else Priority.MEDIUM
    elif band == "uncertain":
        priority = Priority.MEDIUM if young else Priority.LOW
    else:
        priority = Priority.NONE
    reasons: tuple[str, ...] = ()
    if priority is not Priority.NONE:
        reasons = (f"{nudity}; {who}",)
    return RiskAssessment(scores, priority, band, reasons)


class ImageRiskClassifier(Classifier):
    """``nsfw`` and ``face_age`` over one decode per image, combined by :func:`assess`.

    Thresholds: ``nsfw`` and ``minor`` are passed to the two models; ``risk`` defaults to the
    ``nsfw`` threshold (see the module docstring).
    """

    name: ClassVar[str] = "image_risk"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_thresholds: ClassVar[Mapping[str, float]] = {
        "nsfw": NSFW_AT,
        "minor": 0.5,
        "risk": NSFW_AT,
    }

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        rule: AgeBandRule | None = None,
        model_threads: int | None = None,
        max_pixels: int | None = None,
    ) -> None:
        given = dict(thresholds or {})
        if "nsfw" in given and "risk" not in given:
            given["risk"] = given["nsfw"]
        super().__init__(given)
        self.max_pixels = max_pixels
        self.model_threads = model_threads
        self.nsfw = NSFWClassifier(
            {"nsfw": self.thresholds["nsfw"]}, model_threads=model_threads, max_pixels=max_pixels
        )
        self.face_age = FaceAgeClassifier(
            {"minor": self.thresholds["minor"]},
            rule=rule,
            model_threads=model_threads,
            max_pixels=max_pixels,
        )
        self._max_pixels = DEFAULT_MAX_PIXELS

    @property
    def model(self) -> ModelInfo:
        nsfw, age = self.nsfw.model, self.face_age.model
        return ModelInfo(
            name=f"{nsfw.name} + {age.name}",
            version=f"{nsfw.version} + {age.version}",
            licence="MIT (code), BSD-2-Clause (open_nsfw weights), CC0-1.0 (age weights)",
        )

    def setup(self) -> None:
        _, self._max_pixels = runtime_limits(self.model_threads, self.max_pixels)
        self.nsfw.setup()
        self.face_age.setup()

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        self.setup()
        tensors: list[npt.NDArray[np.float32] | str] = []
        detected: list[Detected | str] = []
        for item in items:
            # One decode, both models' inputs, then the pixels go: memory stays at one image
            # plus a 224x224 tensor and a few 64x64 face chips per item.
            entry = decode_item(item, max_pixels=self._max_pixels)
            tensors.append(self.nsfw.prepare(entry))
            detected.append(self.face_age.prepare(entry))
            del entry
        nsfw_scores = self.nsfw.finish(tensors)
        face_lists = self.face_age.finish(detected)
        results: list[ClassifierResult] = []
        for score, faces in zip(nsfw_scores, face_lists, strict=True):
            if isinstance(score, str):
                results.append(self.failed(score))
            elif isinstance(faces, str):
                results.append(self.failed(faces))
            else:
                results.append(self.result(score, faces))
        return results

    def result(self, nsfw: float, faces: Sequence[FaceAge]) -> ClassifierResult:
        """The result for one image's P(nsfw) and faces."""
        a = assess(nsfw, faces, self.thresholds["nsfw"])
        evidence = [Evidence("risk", reason, score=a.scores["risk"]) for reason in a.reasons]
        if a.nsfw_band != "low":
            evidence.append(Evidence("nsfw", f"P(nsfw)={nsfw:.2f}, {a.nsfw_band} band", score=nsfw))
        evidence.extend(self.face_age.result(faces).evidence)
        details: dict[str, Any] = {
            "nsfw_band": a.nsfw_band,
            "n_faces": len(faces),
            "faces": [f.to_dict() for f in faces],
        }
        return ClassifierResult(
            self.name,
            self.model,
            scores=a.scores,
            thresholds=dict(self.thresholds),
            flagged=flag(a.scores, self.thresholds),
            evidence=tuple(evidence),
            priority=a.priority,
            details=details,
        )


__all__ = ["ImageRiskClassifier", "RiskAssessment", "assess", "risk_score"]
