"""Hive's visual and text moderation as a risk signal (``hive``).

**Sends content to a third party.** Every image and text given to this classifier is uploaded
to Hive (``CHILDSAFE_HIVE_URL``) and is then subject to Hive's data terms. Use it only where
your policy and the law allow that; never for material already suspected to be CSAM.

Wire format (Hive docs, "Submit a task synchronously"): ``POST
https://api.thehive.ai/api/v2/task/sync`` with ``Authorization: Token KEY`` and a multipart
form holding ``media`` (an image file) or ``text_data`` (raw text). The answer is
``{"status": [{"status": {"code": "0", "message": "SUCCESS"}, "response": {"output":
[{"time": 0, "classes": [{"class": ..., "score": ...}, ...]}]}}]}``; a video or an animated
image has one output per frame, and we keep each class's maximum over them.

A Hive project runs one model, so a key is for visual *or* text moderation; give each its own
classifier instance (``api_key=``, ``base_url=``). Class mapping, by model:

==============================  ======================================  =========
label                           Hive classes (max of)                   threshold
==============================  ======================================  =========
``minor_present`` (image)       ``yes_child_present``                   0.5
``sexual`` (image)              ``general_nsfw``, ``yes_sexual_activity``,  0.8
                                ``yes_female_nudity``, ``yes_male_nudity``
``sexual`` (text)               ``sexual`` severity 0-3, divided by 3    0.8
``child_exploitation`` (text)   ``child_exploitation`` (binary: 0 or 3)  0.5
==============================  ======================================  =========

Visual scores are probabilities per model head. Text scores are Hive's integer severity
levels (0 benign … 3 most severe; binary heads answer 0 or 3) scaled to 0-1, so text
``sexual`` 0.67 is Hive's level 2 ("nudity and lingerie") and the 0.8 default flags only
level 3; a level of -1 (language not supported) is not a score and is left out. Classes we
do not map are ignored. Hive caps a text task at 1,024 characters: longer texts (up to
``Settings.text_max_chars``) go as several tasks, and each label keeps its highest piece.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from childsafe.classifiers.adapters._base import ApiClassifier, Job, ShapeError, number, shape
from childsafe.classifiers.adapters._http import ApiError, ApiSession
from childsafe.classifiers.adapters._media import (
    Text,
    prepare_image,
)
from childsafe.classifiers.base import ClassifierResult, Evidence, ModelInfo, Priority
from childsafe.content.base import Item
from childsafe.errors import ContentError

VISUAL_CLASSES: Mapping[str, tuple[str, ...]] = {
    "minor_present": ("yes_child_present",),
    "sexual": ("general_nsfw", "yes_sexual_activity", "yes_female_nudity", "yes_male_nudity"),
}
TEXT_CLASSES: Mapping[str, tuple[str, ...]] = {
    "sexual": ("sexual",),
    "child_exploitation": ("child_exploitation",),
}
TEXT_LEVELS = 3.0
HIVE_TEXT_MAX = 1024

# One task: (item index, span of the item's text or None for an image, the text or the image).


class HiveClassifier(ApiClassifier):
    """Hive visual/text moderation; SENDS CONTENT TO HIVE.

    Images (items with content) go as ``media``, re-encoded as JPEG without metadata; texts
    (items with ``text`` and no content) as ``text_data``. Scores route to human review.
    """

    name: ClassVar[str] = "hive"
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "text"})
    default_thresholds: ClassVar[Mapping[str, float]] = {
        "minor_present": 0.5,
        "sexual": 0.8,
        "child_exploitation": 0.5,
    }
    key_setting: ClassVar[str] = "hive_api_key"
    url_setting: ClassVar[str] = "hive_url"

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        text_chunk_chars: int = HIVE_TEXT_MAX,
        **options: Any,
    ) -> None:
        super().__init__(thresholds, **options)
        if text_chunk_chars < 16:
            raise ValueError(f"{self.name}: text_chunk_chars must be at least 16")
        self.text_chunk_chars = text_chunk_chars

    @property
    def model(self) -> ModelInfo:
        return ModelInfo("hive/moderation", "api-v2-sync", "proprietary service (Hive terms)")

    def _headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Token {key}", "Accept": "application/json"}

    def _priority(self, flagged: Sequence[str]) -> Priority:
        if "child_exploitation" in flagged or {"minor_present", "sexual"} <= set(flagged):
            return Priority.HIGH
        return Priority.LOW if flagged else Priority.NONE

    def _classify(self, items: Sequence[Item], session: ApiSession) -> list[ClassifierResult]:
        planned = self._plan(items, self.text_chunk_chars)

        def send(job: Job) -> Any:
            try:
                return session.post(self.url, **self._form(job[2]))
            except (ApiError, ContentError) as exc:
                return exc

        return self._gather(items, planned, send, self._read)

    def _form(self, content: Item | str) -> dict[str, Any]:
        """The multipart form of one task: ``text_data``, or ``media`` (a checked image)."""
        if isinstance(content, str):
            return {"data": {"text_data": content}}
        up = prepare_image(
            content, max_pixels=self._max_pixels, max_bytes=self.max_upload_bytes, reencode=True
        )
        return {"files": {"media": (up.filename, up.data, up.mime)}}

    def _read(
        self, item: Item, parts: list[tuple[tuple[int, int] | None, Any]], text: Text | None
    ) -> ClassifierResult:
        """One item's result from its answers: one for an image, one per piece of a text."""
        mapping = VISUAL_CLASSES if text is None else TEXT_CLASSES
        scores: dict[str, float] = {}
        evidence: list[Evidence] = []
        task_ids: list[str] = []
        languages: set[str] = set()
        for span, answer in parts:
            where = f"characters {span[0]}-{span[1]}: " if span and len(parts) > 1 else ""
            if isinstance(answer, ContentError):
                return self._error(item, answer)
            if isinstance(answer, ApiError):
                return self._error(item, f"{where}{answer}")
            try:
                found, task_id, language = _classes(answer)
            except ApiError as exc:
                return self._error(item, f"{where}{exc}")
            task_ids += [task_id] if task_id else []
            languages |= {language} if language else set()
            for label, classes in mapping.items():
                best = _best(found, classes, levels=text is not None)
                if best is None:
                    continue
                cls, score = best
                detail = f"Hive {cls}=" + (
                    f"level {round(score * TEXT_LEVELS)}" if text is not None else f"{score:.2f}"
                )
                evidence.append(
                    Evidence(
                        label,
                        detail,
                        start=span[0] if span else None,
                        end=span[1] if span else None,
                        score=score,
                    )
                )
                scores[label] = max(score, scores.get(label, 0.0))
        if not scores:
            return self._error(item, _nothing_mapped(mapping, languages))
        details: dict[str, Any] = {
            "modality": "image" if text is None else "text",
            "vendor_task_ids": task_ids,
        }
        if text is not None:
            details.update(text.details(), language=sorted(languages), pieces=len(parts))
        return self._result(scores, evidence=_top(evidence), details=details)


def _classes(payload: Any) -> tuple[list[tuple[str, float]], str | None, str | None]:
    """All ``(class, score)`` pairs of a Hive answer, its task id and detected language."""
    shape(isinstance(payload, dict), "body is not a JSON object")
    status = payload.get("status")
    shape(isinstance(status, list) and len(status) > 0, "no 'status' list")
    first = status[0]
    shape(isinstance(first, dict), "status[0] is not an object")
    state = first.get("status") or {}
    code = str(state.get("code", "")) if isinstance(state, dict) else ""
    if code not in ("0", "200"):
        message = state.get("message", "no message") if isinstance(state, dict) else "?"
        raise ApiError(f"Hive task failed: status {code or '?'}: {str(message)[:200]}")
    response = first.get("response")
    shape(isinstance(response, dict), "no 'response' object")
    outputs = response.get("output")
    shape(isinstance(outputs, list), "no 'output' list")
    found: list[tuple[str, float]] = []
    for out in outputs:
        shape(isinstance(out, dict) and isinstance(out.get("classes"), list), "no 'classes'")
        for entry in out["classes"]:
            shape(isinstance(entry, dict), "a class entry is not an object")
            cls = entry.get("class")
            shape(isinstance(cls, str), "a class entry has no 'class' name")
            found.append((cls, number(entry.get("score"), f"the score of {cls!r}")))
    task_id = payload.get("id")
    language = response.get("language")
    return (
        found,
        task_id if isinstance(task_id, str) else None,
        language if isinstance(language, str) else None,
    )


def _best(
    found: list[tuple[str, float]], classes: tuple[str, ...], *, levels: bool
) -> tuple[str, float] | None:
    """The highest of ``classes`` in ``found`` as a 0-1 score; ``None`` when none is there.

    Text severities are scaled by 3; a negative level (language not supported) is no score.
    """
    best: tuple[str, float] | None = None
    for cls, raw in found:
        if cls not in classes or raw < 0:
            continue
        score = raw / TEXT_LEVELS if levels else raw
        if best is None or score > best[1]:
            best = (cls, score)
    return best


def _top(evidence: list[Evidence]) -> list[Evidence]:
    """The highest-scoring piece per label, so a long text gives one span per label."""
    top: dict[str, Evidence] = {}
    for e in evidence:
        if e.label not in top or (e.score or 0.0) > (top[e.label].score or 0.0):
            top[e.label] = e
    return list(top.values())


def _nothing_mapped(mapping: Mapping[str, tuple[str, ...]], languages: set[str]) -> ShapeError:
    if languages and languages <= {"UNSUPPORTED"}:
        return ShapeError("Hive did not moderate this text (language not supported)")
    wanted = ", ".join(c for classes in mapping.values() for c in classes)
    return ShapeError(
        f"the answer has none of the mapped Hive classes ({wanted}); "
        "is the key for the right project (visual or text moderation)?"
    )
