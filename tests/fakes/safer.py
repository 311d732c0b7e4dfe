"""A fake of the ASSUMED Safer wire format (see ``childsafe.classifiers.adapters.safer``).

Safer's API is documented to customers only; this fake serves the shape the adapter assumes,
which follows the public documentation of the Thorn-built models Hive serves: ``POST
{base}/image`` (multipart ``file``) answers ``{"file": {"fileType", "reasons",
"classifierPrediction": {"csam_classifier": {"csam", "pornography", "other"}}}, "hashes":
[...]}``; ``POST {base}/text`` (JSON ``{"text"}``, at most 1,024 characters) answers
``{"predictions": {"csa_text_classifier": {...}}}``. Auth: ``Authorization: Bearer KEY``.

Rules (deterministic). Hash matching runs first: an image whose MD5 is in ``known_md5`` (tests
fill it from *benign* images) answers a ``saferhashv0`` CSAM match and no classifier
prediction. Otherwise ``csam`` = 0.98 x mean blue x (1 - mean red): pure blue scores 0.98,
white, black and red score 0. Texts: a minor mention with a mild adult-only term scores
``csam`` 0.95 and ``csa_discussion`` 0.9; a minor mention alone only ``has_minor`` 0.9.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.fakes import (
    FakeServer,
    Recorded,
    Reply,
    image_means,
    minor_mention,
    parse_form,
    sexual_term,
)

TEXT_MAX = 1024


class FakeSafer(FakeServer):
    """``base_url`` is ``{origin}/api/v1``, standing in for an account's Safer URL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_md5: set[str] = set()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v1"

    def error_body(self, status: int, message: str = "") -> Any:
        return {"error": {"code": status, "message": message or f"fake error {status}"}}

    def handle(self, request: Recorded) -> Reply:
        if request.headers.get("authorization", "") != f"Bearer {self.api_key}":
            return Reply(401, self.error_body(401, "invalid API key"))
        if request.path == "/api/v1/image":
            return self._image(request)
        if request.path == "/api/v1/text":
            return self._text(request)
        return Reply(404, self.error_body(404, f"no route {request.path}"))

    def _image(self, request: Recorded) -> Reply:
        try:
            data = parse_form(request)["file"][0]
            r, _g, b, luma = image_means(data)
        except (KeyError, ValueError) as exc:
            return Reply(400, self.error_body(400, f"expected an image in 'file': {exc}"))
        if hashlib.md5(data).hexdigest() in self.known_md5:
            match = {"sourceId": "benign-test-1", "matchDistance": 0, "matchTransformations": []}
            hashes = [
                {
                    "hashType": "saferhashv0",
                    "matchTypes": ["CSAM"],
                    "reasons": ["matched"],
                    "sources": [{"hashSet": "test", "matches": [match]}],
                }
            ]
            file = {"fileType": "image", "reasons": ["matched"], "classifierPrediction": None}
            return Reply(200, {"file": file, "hashes": hashes})
        csam = round(0.98 * b * (1 - r), 4)
        porn = round((1 - csam) * luma, 4)
        prediction = {"csam": csam, "pornography": porn, "other": round(1 - csam - porn, 4)}
        file = {
            "fileType": "image",
            "reasons": ["csam"] if csam >= 0.5 else [],
            "classifierPrediction": {"csam_classifier": prediction},
        }
        return Reply(200, {"file": file, "hashes": []})

    def _text(self, request: Recorded) -> Reply:
        try:
            text = json.loads(request.body)["text"]
        except (ValueError, KeyError, TypeError):
            return Reply(400, self.error_body(400, "expected JSON {'text': ...}"))
        if not isinstance(text, str) or not text or len(text) > TEXT_MAX:
            return Reply(400, self.error_body(400, f"text must be 1-{TEXT_MAX} characters"))
        minor, sexual = minor_mention(text), sexual_term(text)
        scores = {
            "csa_discussion": 0.9 if minor and sexual else 0.02,
            "child_access": 0.03,
            "csam": 0.95 if minor and sexual else 0.01,
            "has_minor": 0.9 if minor else 0.05,
            "self_generated_content": 0.01,
            "sextortion": 0.01,
        }
        scores["not_pertinent"] = round(1 - max(scores.values()), 4)
        return Reply(200, {"predictions": {"csa_text_classifier": scores}})
