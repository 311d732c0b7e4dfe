"""A fake of Hive's synchronous task API, ``POST /api/v2/task/sync``.

Request (Hive docs, "Submit a task synchronously"): ``Authorization: Token KEY`` and a form
with exactly one of ``media`` (a file), ``url`` or ``text_data``; text tasks are capped at
1,024 characters. Answer: ``{"id", "code": 200, "status": [{"status": {"code": "0",
"message": "SUCCESS"}, "response": {"input": {...}, "output": [{"time": 0, "classes":
[{"class", "score"}, ...]}]}}]}``; text answers add ``language``, ``moderated_classes`` and
``text_filters`` and give integer severities 0-3 (binary heads 0 or 3; -1 when the language
is not supported).

``project`` is ``"visual"``, ``"text"`` or ``"both"`` (a real project is one or the other).

Scoring rules (deterministic). Images: ``general_nsfw`` = mean luma, ``yes_child_present`` =
mean red (so white scores both, pure red only child-present, black neither), each head summing
to 1, plus an unmapped gun head. Texts: ``sexual`` 3 for "nsfw", 2 for another mild adult-only
term, else 0; ``child_exploitation`` 3 when a minor mention meets such a term, else 0; texts
with no Latin letter are language ``UNSUPPORTED`` and score -1.
"""

from __future__ import annotations

import hashlib
import re
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

PATH = "/api/v2/task/sync"
TEXT_MAX = 1024
TEXT_HEADS = ("sexual", "hate", "violence", "bullying", "drugs", "spam", "child_exploitation")


class FakeHive(FakeServer):
    """``url`` is the full sync endpoint, as ``CHILDSAFE_HIVE_URL`` is."""

    def __init__(self, *args: Any, project: str = "both", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    @property
    def url(self) -> str:
        return f"{self.origin}{PATH}"

    def error_body(self, status: int, message: str = "") -> Any:
        return {"status_code": status, "message": message or f"fake error {status}"}

    def handle(self, request: Recorded) -> Reply:
        if request.path != PATH:
            return Reply(404, self.error_body(404, "not found"))
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "token" or token != self.api_key:
            return Reply(403, self.error_body(403, f"invalid token {token!r}"))
        try:
            form = parse_form(request)
        except ValueError as exc:
            return Reply(400, self.error_body(400, str(exc)))
        given = [k for k in ("media", "url", "text_data") if k in form]
        if len(given) != 1:
            return Reply(400, self.error_body(400, "send exactly one of media, url, text_data"))
        if given[0] == "url":
            return Reply(400, self.error_body(400, "this fake fetches no URLs"))
        if given[0] == "media":
            if self.project == "text":
                return Reply(400, self.error_body(400, "text project: send text_data"))
            try:
                output = _visual(form["media"][0])
            except ValueError as exc:
                return Reply(400, self.error_body(400, f"unsupported media: {exc}"))
            extra: dict[str, Any] = {}
        else:
            if self.project == "visual":
                return Reply(400, self.error_body(400, "visual project: send media or url"))
            text = form["text_data"][0].decode("utf-8", "replace")
            if len(text) > TEXT_MAX:
                return Reply(400, self.error_body(400, f"text_data over {TEXT_MAX} characters"))
            output, extra = _text(text)
        task = hashlib.sha256(request.body).hexdigest()[:32]
        response = {"input": {"id": task, "charge": 0.001}, "output": output, **extra}
        return Reply(
            200,
            {
                "id": task,
                "code": 200,
                "project_id": 1,
                "status": [{"status": {"code": "0", "message": "SUCCESS"}, "response": response}],
                "from_cache": False,
            },
        )


def _visual(data: bytes) -> list[dict[str, Any]]:
    r, _g, _b, luma = image_means(data)
    nsfw, child = round(luma, 4), round(r, 4)
    classes = [
        ("general_nsfw", nsfw),
        ("general_suggestive", round((1 - nsfw) / 2, 4)),
        ("general_not_nsfw_not_suggestive", round((1 - nsfw) / 2, 4)),
        ("yes_female_nudity", round(nsfw * 0.5, 4)),
        ("no_female_nudity", round(1 - nsfw * 0.5, 4)),
        ("yes_child_present", child),
        ("no_child_present", round(1 - child, 4)),
        ("gun_in_hand", 0.01),
        ("no_gun", 0.99),
    ]
    return [{"time": 0, "classes": [{"class": c, "score": s} for c, s in classes]}]


def _text(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    supported = re.search(r"[A-Za-z]", text) is not None
    levels = dict.fromkeys(TEXT_HEADS, 0 if supported else -1)
    if supported and sexual_term(text):
        levels["sexual"] = 3 if "nsfw" in text.lower() else 2
        if minor_mention(text):
            levels["child_exploitation"] = 3
    output = [
        {
            "time": 0,
            "start_char_index": 0,
            "end_char_index": len(text),
            "classes": [{"class": c, "score": s} for c, s in levels.items()],
        }
    ]
    extra = {
        "language": "EN" if supported else "UNSUPPORTED",
        "moderated_classes": list(TEXT_HEADS) if supported else [],
        "text_filters": [],
        "pii_entities": [],
    }
    return output, extra
