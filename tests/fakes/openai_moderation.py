"""A fake of OpenAI's ``POST /v1/moderations`` (API reference, "Moderations").

Request: ``Authorization: Bearer KEY``; JSON ``{"model": ..., "input": ...}`` where input is
a string, a list of strings (one result each) or a multimodal list of ``{"type": "text",
"text": ...}`` and at most one ``{"type": "image_url", "image_url": {"url": ...}}`` (one
result for the whole list). Errors use OpenAI's ``{"error": {"message", "type", "param",
"code"}}``; the 401 message quotes the key it was given, the worst case for an adapter that
must never repeat a key.

Scoring rules (deterministic): a text with a minor mention *and* a mild adult-only term
scores ``sexual/minors`` 0.93 and ``sexual`` 0.86; a mild term alone scores ``sexual`` 0.91
and ``sexual/minors`` 0.02; anything else scores 0.01 everywhere. An image scores ``sexual``
= its mean luma (white 1.0, black 0.0), and ``sexual/minors`` is not applied to images, as
omni-moderation reports in ``category_applied_input_types``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tests.fakes import FakeServer, Recorded, Reply, image_means, minor_mention, sexual_term

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
IMAGE_CATEGORIES = frozenset(
    {
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "violence",
        "violence/graphic",
    }
)
MODELS = {
    "omni-moderation-latest": "omni-moderation-2024-09-26",
    "omni-moderation-2024-09-26": "omni-moderation-2024-09-26",
    "text-moderation-latest": "text-moderation-007",
    "text-moderation-stable": "text-moderation-007",
}
_DATA_URL = ("data:image/jpeg;base64,", "data:image/png;base64,", "data:image/webp;base64,")


class BadRequest(Exception):
    """A request OpenAI would answer with 400."""


class FakeOpenAIModeration(FakeServer):
    """``base_url`` is ``{origin}/v1``, as for ``https://api.openai.com/v1``."""

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def error_body(self, status: int, message: str = "") -> Any:
        kind = {429: "rate_limit_exceeded", 401: "invalid_request_error"}.get(
            status, "server_error"
        )
        if 400 <= status < 500 and status not in (401, 429):
            kind = "invalid_request_error"
        return {
            "error": {
                "message": message or f"fake error {status}",
                "type": kind,
                "param": None,
                "code": None,
            }
        }

    def handle(self, request: Recorded) -> Reply:
        if request.path != "/v1/moderations":
            return Reply(404, self.error_body(404, f"Invalid URL (POST {request.path})"))
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            return Reply(401, self.error_body(401, "You didn't provide an API key."))
        if auth[7:] != self.api_key:
            return Reply(
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {auth[7:]}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(400, self.error_body(400, "We could not parse the JSON body."))
        try:
            model, results = self._moderate(body)
        except BadRequest as exc:
            return Reply(400, self.error_body(400, str(exc)))
        digest = hashlib.sha256(request.body).hexdigest()[:24]
        return Reply(200, {"id": f"modr-{digest}", "model": model, "results": results})

    def _moderate(self, body: Any) -> tuple[str, list[dict[str, Any]]]:
        if not isinstance(body, dict) or "input" not in body:
            raise BadRequest("'input' is a required property")
        model = body.get("model", "omni-moderation-latest")
        if model not in MODELS:
            raise BadRequest(f"The model `{model}` does not exist.")
        given = body["input"]
        if isinstance(given, str):
            return MODELS[model], [_text_result(given)]
        if not isinstance(given, list) or not given:
            raise BadRequest("'input' must be a string or a non-empty array")
        if all(isinstance(x, str) for x in given):
            return MODELS[model], [_text_result(x) for x in given]
        if not model.startswith("omni"):
            raise BadRequest(f"{model} does not support multimodal input")
        return MODELS[model], [_multimodal_result(given)]


def _scores(text: str) -> dict[str, float]:
    scores = dict.fromkeys(CATEGORIES, 0.01)
    if sexual_term(text) and minor_mention(text):
        scores.update({"sexual/minors": 0.93, "sexual": 0.86})
    elif sexual_term(text):
        scores.update({"sexual": 0.91, "sexual/minors": 0.02})
    return scores


def _result(scores: dict[str, float], applied: dict[str, list[str]]) -> dict[str, Any]:
    categories = {c: scores[c] >= 0.5 for c in CATEGORIES}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": applied,
    }


def _text_result(text: str) -> dict[str, Any]:
    return _result(_scores(text), {c: ["text"] for c in CATEGORIES})


def _multimodal_result(parts: list[Any]) -> dict[str, Any]:
    texts: list[str] = []
    images: list[bytes] = []
    for part in parts:
        if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
            raise BadRequest("each input part needs type 'text' or 'image_url'")
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise BadRequest("a text part needs a 'text' string")
            texts.append(part["text"])
            continue
        url = (part.get("image_url") or {}).get("url")
        if not isinstance(url, str) or not url.startswith(_DATA_URL):
            raise BadRequest("image_url.url must be a data URL (this fake fetches nothing)")
        try:
            images.append(base64.b64decode(url.split(",", 1)[1], validate=True))
        except ValueError:
            raise BadRequest("image_url.url is not valid base64") from None
    if len(images) > 1:
        raise BadRequest("At most 1 image(s) may be provided in one request.")
    scores = _scores(" ".join(texts)) if texts else dict.fromkeys(CATEGORIES, 0.0)
    applied = {c: ["text"] if texts else [] for c in CATEGORIES}
    if images:
        try:
            luma = image_means(images[0])[3]
        except ValueError as exc:
            raise BadRequest(f"Invalid image: {exc}") from None
        scores["sexual"] = max(scores["sexual"], round(luma, 4))
        for c in IMAGE_CATEGORIES:
            applied[c] = [*applied[c], "image"]
    return _result(scores, applied)
