"""Thorn's Safer as a signal for known and novel CSAM and for exploitative text (``safer``).

**Sends content to a third party.** Images and texts given to this classifier are uploaded to
Thorn's Safer service at ``CHILDSAFE_SAFER_URL`` (the base URL that comes with a Safer
account), under your agreement with Thorn.

**The wire format here is an assumption.** Safer's API is documented to customers only. What
is public: Safer combines hash matching against known CSAM with classifiers for novel CSAM
(images) and child sexual exploitation (text), behind an API key. The closest public
description of the *answers* is Hive's documentation of the Thorn-built models it serves
("CSAM Detection - Combined API", "CSE Text Classifier API"), and :class:`SaferWire`
follows it: an image answer has ``file.classifierPrediction.csam_classifier`` (``csam``,
``pornography``, ``other``, summing to 1) and ``hashes`` (each with ``hashType``,
``matchTypes``, ``sources[].hashSet`` and ``sources[].matches[].sourceId`` /
``matchDistance``); a text answer has ``predictions.csa_text_classifier`` with ``csam``,
``csa_discussion``, ``child_access``, ``sextortion``, ``self_generated_content``,
``has_minor`` and ``not_pertinent`` scores. The *requests* (paths, field names, the Bearer
header) are ours. Check everything in :class:`SaferWire` against Thorn's customer
documentation and adjust that one class (or pass ``wire=`` your own subclass).

Labels: ``csam`` (image) is the classifier's ``csam`` score, or 1.0 when Safer reports a
known-hash match of type CSAM (the match itself is listed in ``details``); ``cse`` (text) is
the highest of the exploitation scores above (``has_minor`` and ``not_pertinent`` are kept in
``details`` but are not exploitation). Thresholds default to 0.5 for both; calibrate them on
your own traffic. A hash match is strong evidence, but here it still only routes to review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from childsafe.classifiers.adapters._base import ApiClassifier, Job, ShapeError, number, shape
from childsafe.classifiers.adapters._http import ApiError, ApiSession
from childsafe.classifiers.adapters._media import (
    Text,
    Upload,
    prepare_image,
)
from childsafe.classifiers.base import ClassifierResult, Evidence, ModelInfo, Priority
from childsafe.content.base import Item
from childsafe.errors import ContentError

# One request: (item index, span of the item's text or None for an image, text or image).

CSE_LABELS = ("csam", "csa_discussion", "child_access", "sextortion", "self_generated_content")
TEXT_MAX = 1024


@dataclass(frozen=True, slots=True)
class Reading:
    """Our labels from one Safer answer, with the evidence and details behind them."""

    scores: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


_Got = Reading | ApiError | ContentError


# ======================================================================================
# ASSUMED SAFER WIRE FORMAT: the one place to change after reading Thorn's customer docs.
# ======================================================================================
class SaferWire:
    """How a request is made and an answer read. An assumption; see the module docstring."""

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def request(self, base_url: str, content: Upload | str) -> tuple[str, dict[str, Any]]:
        """The URL and httpx arguments for one image (``Upload``) or one piece of text."""
        if isinstance(content, Upload):
            return f"{base_url}/image", {
                "files": {"file": (content.filename, content.data, content.mime)}
            }
        return f"{base_url}/text", {"json": {"text": content}}

    def read_image(self, payload: Any) -> Reading:
        shape(isinstance(payload, dict) and isinstance(payload.get("file"), dict), "no 'file'")
        file = payload["file"]
        matches = [
            {
                "hash_type": h.get("hashType"),
                "match_types": h.get("matchTypes") or [],
                "hash_set": s.get("hashSet"),
                "source_id": m.get("sourceId"),
                "distance": m.get("matchDistance"),
            }
            for h in payload.get("hashes") or []
            for s in h.get("sources") or []
            for m in s.get("matches") or []
        ]
        known = [m for m in matches if "CSAM" in m["match_types"]]
        prediction = (file.get("classifierPrediction") or {}).get("csam_classifier") or {}
        shape(bool(known) or "csam" in prediction, "neither a hash match nor a 'csam' score")
        scores = {"csam": 1.0 if known else number(prediction["csam"], "the 'csam' score")}
        evidence = [
            Evidence(
                "csam",
                f"Safer known-hash match: {m['hash_type']} in {m['hash_set']} "
                f"(distance {m['distance']})",
                score=1.0,
            )
            for m in known
        ] or [Evidence("csam", f"Safer classifier csam={scores['csam']:.2f}", score=scores["csam"])]
        details = {
            "hash_matches": matches,
            "classifier": {k: number(v, repr(k)) for k, v in prediction.items()},
            "vendor_reasons": list(file.get("reasons") or []),
        }
        return Reading(scores, evidence, details)

    def read_text(self, payload: Any) -> Reading:
        predictions: Any = payload.get("predictions") if isinstance(payload, dict) else None
        shape(isinstance(predictions, dict), "no 'predictions'")
        found = predictions.get("csa_text_classifier")
        shape(isinstance(found, dict), "no 'csa_text_classifier'")
        raw = {k: number(v, f"the {k!r} score") for k, v in found.items()}
        present = [k for k in CSE_LABELS if k in raw]
        shape(bool(present), f"none of {', '.join(CSE_LABELS)}")
        top = max(present, key=lambda k: raw[k])
        evidence = [Evidence("cse", f"Safer {top}={raw[top]:.2f}", score=raw[top])]
        return Reading({"cse": raw[top]}, evidence, {"text_classifier": raw})


# ======================================================================================


class SaferClassifier(ApiClassifier):
    """Thorn Safer (known-hash matching + CSAM/CSE classifiers); SENDS CONTENT TO THORN.

    Images are sent as their original bytes (a re-encode would defeat exact-hash matching);
    texts in pieces of at most ``text_chunk_chars`` characters. Scores route to review.
    """

    name: ClassVar[str] = "safer"
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "text"})
    default_thresholds: ClassVar[Mapping[str, float]] = {"csam": 0.5, "cse": 0.5}
    key_setting: ClassVar[str] = "safer_api_key"
    url_setting: ClassVar[str] = "safer_url"

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        wire: SaferWire | None = None,
        text_chunk_chars: int = TEXT_MAX,
        **options: Any,
    ) -> None:
        super().__init__(thresholds, **options)
        if text_chunk_chars < 16:
            raise ValueError(f"{self.name}: text_chunk_chars must be at least 16")
        self.wire = wire or SaferWire()
        self.text_chunk_chars = text_chunk_chars

    @property
    def model(self) -> ModelInfo:
        return ModelInfo(
            "thorn/safer", "api (assumed wire format)", "proprietary service (Thorn agreement)"
        )

    def _headers(self, key: str) -> dict[str, str]:
        return self.wire.headers(key)

    def _priority(self, flagged: Sequence[str]) -> Priority:
        return Priority.HIGH if flagged else Priority.NONE

    def _classify(self, items: Sequence[Item], session: ApiSession) -> list[ClassifierResult]:
        planned = self._plan(items, self.text_chunk_chars)

        def send(job: Job) -> _Got:
            try:
                content = job[2] if isinstance(job[2], str) else self._upload(job[2])
                url, request = self.wire.request(self.url, content)
                payload = session.post(url, **request)
                if isinstance(content, Upload):
                    return self.wire.read_image(payload)
                return self.wire.read_text(payload)
            except (ApiError, ContentError) as exc:
                return exc
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                return ShapeError(f"unexpected response shape: {type(exc).__name__}: {exc}")

        return self._gather(items, planned, send, self._combine)

    def _upload(self, item: Item) -> Upload:
        """The original bytes of a checked image: a re-encode would defeat hash matching."""
        return prepare_image(
            item, max_pixels=self._max_pixels, max_bytes=self.max_upload_bytes, reencode=False
        )

    def _combine(
        self,
        item: Item,
        parts: list[tuple[tuple[int, int] | None, _Got]],
        text: Text | None,
    ) -> ClassifierResult:
        """One result from an image's answer, or from the answers for a text's pieces."""
        best: tuple[tuple[int, int] | None, Reading] | None = None
        for span, got in parts:
            if isinstance(got, ContentError):
                return self._error(item, got)
            if isinstance(got, ApiError):
                where = f"characters {span[0]}-{span[1]}: " if span and len(parts) > 1 else ""
                return self._error(item, f"{where}{got}")
            if best is None or max(got.scores.values()) > max(best[1].scores.values()):
                best = (span, got)
        assert best is not None
        span, reading = best
        evidence = [
            Evidence(e.label, e.detail, start=span[0], end=span[1], score=e.score) if span else e
            for e in reading.evidence
        ]
        details: dict[str, Any] = {"modality": "image" if text is None else "text"}
        details.update(reading.details)
        if text is not None:
            details.update(text.details(), pieces=len(parts))
        return self._result(reading.scores, evidence=evidence, details=details)
