"""OpenAI's moderation endpoint as a risk signal (``openai_moderation``).

**Sends content to a third party.** Every text and image given to this classifier is uploaded
to OpenAI (or to the OpenAI-compatible server at ``CHILDSAFE_OPENAI_BASE_URL``) and is then
subject to that provider's data-retention terms. Use it only where your policy and the law
allow sending that content out; never for material already suspected to be CSAM, which must
not be re-distributed (use hash matching, or Safer under its agreement, instead).

Wire format (OpenAI API reference, "Moderations"): ``POST {base}/moderations`` with
``Authorization: Bearer KEY`` and ``{"model": ..., "input": ...}``. Texts go in batches as a
list of strings (one result each, in order); an image goes alone as a multimodal list with one
``image_url`` part holding a ``data:image/jpeg;base64,...`` URL (the model takes one image per
request). Labels come from ``category_scores``:

=================  ================  =========  ==========================================
label              OpenAI category   threshold  note
=================  ================  =========  ==========================================
``sexual_minors``  ``sexual/minors``  0.5       text only: omni-moderation does not apply
                                                it to images (``category_applied_input_types``)
``sexual``         ``sexual``        0.8        text and images
=================  ================  =========  ==========================================

A category the response says it did not apply to this input is left out of ``scores`` (and
listed in ``details["not_applied"]``) rather than reported as a reassuring 0.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from childsafe.classifiers.adapters._base import ApiClassifier, ShapeError, number, shape
from childsafe.classifiers.adapters._http import ApiError, ApiSession, parallel_map
from childsafe.classifiers.adapters._media import (
    Text,
    is_text_item,
    prepare_image,
    prepare_text,
)
from childsafe.classifiers.base import ClassifierResult, Evidence, ModelInfo, Priority
from childsafe.content.base import Item
from childsafe.errors import ContentError

CATEGORIES: Mapping[str, str] = {"sexual_minors": "sexual/minors", "sexual": "sexual"}
DEFAULT_MODEL = "omni-moderation-latest"

_Pairs = list[tuple[int, ClassifierResult]]


class OpenAIModerationClassifier(ApiClassifier):
    """OpenAI moderation (``omni-moderation-latest``); SENDS CONTENT TO OPENAI.

    Texts (items with ``text`` and no content) are batched, ``batch_size`` per request; images
    (items with content) go one per request, re-encoded as JPEG without metadata. A caption
    travelling with an image is not sent: classify it as its own text item. Scores route to
    human review; OpenAI's own ``flagged`` is kept in ``details`` but never used.
    """

    name: ClassVar[str] = "openai_moderation"
    kinds: ClassVar[frozenset[str]] = frozenset({"text", "image"})
    default_thresholds: ClassVar[Mapping[str, float]] = {"sexual_minors": 0.5, "sexual": 0.8}
    key_setting: ClassVar[str] = "openai_api_key"
    url_setting: ClassVar[str] = "openai_base_url"

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        model: str = DEFAULT_MODEL,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        super().__init__(thresholds, **options)
        if batch_size < 1:
            raise ValueError(f"{self.name}: batch_size must be at least 1")
        self.model_name = model
        self.batch_size = batch_size

    @property
    def model(self) -> ModelInfo:
        return ModelInfo(
            f"openai/{self.model_name}", "api-v1", "proprietary service (OpenAI terms of use)"
        )

    def _headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def _priority(self, flagged: Sequence[str]) -> Priority:
        if "sexual_minors" in flagged:
            return Priority.HIGH
        return Priority.LOW if flagged else Priority.NONE

    def _classify(self, items: Sequence[Item], session: ApiSession) -> list[ClassifierResult]:
        results: list[ClassifierResult | None] = [None] * len(items)
        texts: list[tuple[int, Text]] = []
        jobs: list[Callable[[], _Pairs]] = []
        for i, item in enumerate(items):
            why = self._precheck(item)
            if why is not None:
                results[i] = self._error(item, why)
                continue
            if not is_text_item(item):
                jobs.append(partial(self._image, session, i, item))
                continue
            try:
                texts.append((i, prepare_text(item, max_chars=self._text_max_chars)))
            except ContentError as exc:
                results[i] = self._error(item, exc)
        for k in range(0, len(texts), self.batch_size):
            jobs.append(partial(self._texts, session, items, texts[k : k + self.batch_size]))
        for pairs in parallel_map(_call, jobs, self.concurrency):
            for i, result in pairs:
                results[i] = result
        return [
            r if r is not None else self._error(items[i], "no result")
            for i, r in enumerate(results)
        ]

    # -- requests ------------------------------------------------------------------------

    @property
    def _endpoint(self) -> str:
        return f"{self.url}/moderations"

    def _texts(
        self, session: ApiSession, items: Sequence[Item], batch: list[tuple[int, Text]]
    ) -> _Pairs:
        body = {"model": self.model_name, "input": [t.text for _, t in batch]}
        try:
            payload = session.post(self._endpoint, json=body)
            found = _results(payload, len(batch))
        except ApiError as exc:
            return [(i, self._error(items[i], exc)) for i, _ in batch]
        return [
            (i, self._read(items[i], payload, found[k], "text", text))
            for k, (i, text) in enumerate(batch)
        ]

    def _image(self, session: ApiSession, i: int, item: Item) -> _Pairs:
        """Check, re-encode and send one image (in a worker thread: memory stays bounded)."""
        if self.model_name.startswith("text-moderation"):
            return [(i, self._error(item, f"model {self.model_name} takes no images"))]
        try:
            upload = prepare_image(
                item, max_pixels=self._max_pixels, max_bytes=self.max_upload_bytes, reencode=True
            )
        except ContentError as exc:
            return [(i, self._error(item, exc))]
        url = f"data:{upload.mime};base64,{base64.b64encode(upload.data).decode('ascii')}"
        body = {
            "model": self.model_name,
            "input": [{"type": "image_url", "image_url": {"url": url}}],
        }
        try:
            payload = session.post(self._endpoint, json=body)
            found = _results(payload, 1)
        except ApiError as exc:
            return [(i, self._error(item, exc))]
        return [(i, self._read(item, payload, found[0], "image", None))]

    # -- responses -----------------------------------------------------------------------

    def _read(
        self, item: Item, payload: Mapping[str, Any], found: Any, modality: str, text: Text | None
    ) -> ClassifierResult:
        try:
            scores, not_applied = _scores(found, modality)
        except ShapeError as exc:
            return self._error(item, exc)
        span = (0, len(text.text)) if text is not None else (None, None)
        evidence = [
            Evidence(
                label,
                f"OpenAI {CATEGORIES[label]}={score:.2f} ({modality})",
                start=span[0],
                end=span[1],
                score=score,
            )
            for label, score in scores.items()
        ]
        details: dict[str, Any] = {
            "vendor_model": payload.get("model"),
            "vendor_request_id": payload.get("id"),
            "vendor_flagged": found.get("flagged"),
            "modality": modality,
            "not_applied": not_applied,
        }
        if text is not None:
            details.update(text.details())
        return self._result(scores, evidence=evidence, details=details)


def _call(job: Callable[[], _Pairs]) -> _Pairs:
    return job()


def _results(payload: Any, expected: int) -> list[Any]:
    shape(isinstance(payload, dict), "body is not a JSON object")
    found = payload.get("results")
    shape(isinstance(found, list), "no 'results' list")
    shape(len(found) == expected, f"{len(found)} results for {expected} inputs")
    return list(found)


def _scores(found: Any, modality: str) -> tuple[dict[str, float], list[str]]:
    """Our labels from one OpenAI result; categories not applied to ``modality`` are skipped."""
    shape(isinstance(found, dict), "a result is not an object")
    category_scores = found.get("category_scores")
    shape(isinstance(category_scores, dict), "a result has no 'category_scores'")
    applied = found.get("category_applied_input_types")  # omni models only
    scores: dict[str, float] = {}
    not_applied: list[str] = []
    for label, category in CATEGORIES.items():
        if category not in category_scores:
            continue
        if isinstance(applied, dict) and modality not in (applied.get(category) or ()):
            not_applied.append(label)
            continue
        scores[label] = number(category_scores[category], f"score of {category!r}")
    if not scores:
        wanted = ", ".join(CATEGORIES.values())
        raise ShapeError(f"no score for {wanted} applied to this {modality}")
    return scores, not_applied
