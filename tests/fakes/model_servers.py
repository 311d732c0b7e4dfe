"""Fake generative models for ``childsafe assess`` (real HTTP on 127.0.0.1).

:class:`FakeChatModel` speaks OpenAI's ``/v1/chat/completions`` and ``/v1/completions`` with
one of three behaviours:

* ``safe``: refuses a request that pairs a minor (or an age-ambiguous description) with
  romance or secrecy, unless the request is plainly protective (reporting, warning signs,
  safeguarding); helps with everything else.
* ``echo``: an unsafe-by-design toy that complies with everything by echoing the ask back
  ("Sure, here is what you asked for: ...").
* ``over_refuser``: refuses anything that mentions a child at all.

Like a real model, a fake sees only the conversation text (never a probe id, category or
tag), so it decides by keyword lists, after undoing the suite's obfuscations (leetspeak,
spaced letters) as a good model would. :class:`FakeImageModel` is a text-to-image endpoint
that returns generated, benign gradient PNGs (deterministic per prompt) as base64 JSON,
OpenAI-style JSON or raw bytes, and can refuse risky prompts with a content-policy error.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from typing import Any, Self

import numpy as np
from PIL import Image
from tests.fakes import FakeServer, Recorded, Reply, _handler_for, _Server, minor_mention

REFUSAL = "I'm sorry, but I can't help with that. I won't create content that puts a child at risk."
HELPFUL = (
    "Happy to help. Here are a few ideas: keep the conversation open and age-appropriate, "
    "involve a trusted adult, and ask a professional if you have concerns."
)
_YOUNG = re.compile(
    r"\b(?:petite|young[- ]looking|childlike|little girl|little boy|barely legal|schoolboy|"
    r"schoolgirl|young girl|young teen|middle school(?:er)?|\d+(?:th)? grader|looks \d+|"
    r"camper \d+|student|girl|boy)\b",
    re.IGNORECASE,
)
_CHILDISH = re.compile(
    r"\b(?:youth|pupils?|daughter|son|toddler|pediatrician|children's|camper|classmate|"
    r"puberty|freshmen|school|kids?|child|children)\b",
    re.IGNORECASE,
)
_RISK = re.compile(
    r"\b(?:romantic|romance|flirt\w*|dating|date|secrets?|alone|kiss\w*|seductive|suggestive|"
    r"in love|trust me more|won't tell|don't know about|private app|mature for my age|"
    r"couple|relationship)\b",
    re.IGNORECASE,
)
_PROTECTIVE = re.compile(
    r"\b(?:report|warning signs|safeguarding|safeguard|protect\w*|moderators?|escalate|"
    r"staying safe|authorities)\b",
    re.IGNORECASE,
)
_UNLEET = str.maketrans({"4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t"})
_SPACED = re.compile(r"\b(?:\w[ ]){2,}\w\b")


def readable(text: str) -> tuple[str, str]:
    """The text with spaced letters joined (``t e e n`` -> ``teen``), and that again with
    look-alike digits read as letters (``y0ung`` -> ``young``); both are checked because the
    second spoils real numbers (``12-year-old``)."""
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = re.sub(r"\s{3,}", " ", text)
    words = []
    for word in text.split(" "):
        mixed = any(c.isalpha() for c in word) and any(c.isdigit() for c in word)
        words.append(word.translate(_UNLEET) if mixed else word)
    return text, " ".join(words)


def mentions_child(text: str) -> bool:
    """Any mention of a minor, an age-ambiguous description or a child context."""
    return any(minor_mention(t) or _YOUNG.search(t) or _CHILDISH.search(t) for t in readable(text))


def is_risky(text: str) -> bool:
    """A minor (or a young-looking person) together with romance or secrecy, not protective."""
    views = readable(text)
    young = any(minor_mention(t) or _YOUNG.search(t) for t in views)
    risk = any(_RISK.search(t) for t in views)
    return young and risk and not any(_PROTECTIVE.search(t) for t in views)


def answer(behaviour: str, conversation: str, ask: str) -> str:
    """What a fake model says: decided only from the text it was given."""
    if behaviour == "echo":
        return f"Sure, here is what you asked for: {ask}"
    if behaviour == "over_refuser":
        return REFUSAL if mentions_child(conversation) else HELPFUL
    if behaviour == "safe":
        return REFUSAL if is_risky(conversation) else HELPFUL
    raise ValueError(f"unknown behaviour {behaviour!r}")


class FakeChatModel(FakeServer):
    """``base_url`` is ``{origin}/v1``; the key is checked only when ``require_key``."""

    BEHAVIOURS = ("safe", "echo", "over_refuser")

    def __init__(self, behaviour: str = "safe", *, require_key: bool = False, **kw: Any) -> None:
        if behaviour not in self.BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        super().__init__(**kw)
        self.behaviour = behaviour
        self.require_key = require_key

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def error_body(self, status: int, message: str = "") -> Any:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        return {"error": {"message": message or f"fake error {status}", "type": kind, "code": kind}}

    def handle(self, request: Recorded) -> Reply:
        if self.require_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            got = request.headers.get("authorization", "")
            return Reply(401, self.error_body(401, f"Incorrect API key provided: {got}"))
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(400, self.error_body(400, "We could not parse the JSON body."))
        if request.path == "/v1/chat/completions":
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                return Reply(400, self.error_body(400, "'messages' is required"))
            conversation = "\n".join(str(m.get("content", "")) for m in messages)
            text = answer(self.behaviour, conversation, str(messages[-1].get("content", "")))
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            kind = "chat.completion"
        elif request.path == "/v1/completions":
            prompt = body.get("prompt")
            if not isinstance(prompt, str):
                return Reply(400, self.error_body(400, "'prompt' is required"))
            ask = prompt.rsplit("User:", 1)[-1].removesuffix("Assistant:").strip()
            text = answer(self.behaviour, prompt, ask)
            choice = {"index": 0, "text": " " + text, "finish_reason": "stop"}
            kind = "text_completion"
        else:
            return Reply(404, self.error_body(404, f"Invalid URL (POST {request.path})"))
        digest = hashlib.sha256(request.body).hexdigest()[:20]
        return Reply(
            200,
            {
                "id": f"fake-{digest}",
                "object": kind,
                "model": body.get("model", "fake"),
                "choices": [choice],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )


def gradient_png(seed: str, size: int = 32) -> bytes:
    """A benign gradient PNG whose colours follow ``seed`` (same seed, same bytes)."""
    digest = hashlib.sha256(seed.encode()).digest()
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float64)
    channels = [
        (np.outer(ramp if digest[i] % 2 else ramp[::-1], np.ones(size)) * digest[i + 3])
        for i in range(3)
    ]
    pixels = np.stack(channels, axis=-1).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return buf.getvalue()


class FakeImageModel(FakeServer):
    """A text-to-image endpoint at ``{origin}/generate``.

    ``style``: ``json`` (``{"images": [b64, ...]}``), ``openai`` (``{"data": [{"b64_json"}]}``)
    or ``bytes`` (one PNG, ``Content-Type: image/png``). ``refuse_risky`` answers a risky
    prompt with 400 ``content_policy_violation``, as hosted image APIs do.
    """

    def __init__(
        self, style: str = "json", *, n: int = 1, refuse_risky: bool = False, **kw: Any
    ) -> None:
        if style not in ("json", "openai", "bytes"):
            raise ValueError(f"unknown style {style!r}")
        super().__init__(**kw)
        self.style = style
        self.n = n
        self.refuse_risky = refuse_risky

    @property
    def url(self) -> str:
        return f"{self.origin}/generate"

    def start(self) -> Self:
        """Like the base, with a handler that can send ``image/png`` bodies."""
        import threading

        base = _handler_for(self)

        class Handler(base):  # type: ignore[valid-type,misc]
            def _send(self, reply: Reply) -> None:
                ctype = reply.headers.get("Content-Type")
                if ctype is None:
                    super()._send(reply)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def error_body(self, status: int, message: str = "") -> Any:
        return {"error": {"message": message or f"fake error {status}", "code": f"http_{status}"}}

    def handle(self, request: Recorded) -> Reply:
        if request.path != "/generate":
            return Reply(404, self.error_body(404, "not found"))
        try:
            prompt = json.loads(request.body)["prompt"]
        except (ValueError, KeyError, TypeError):
            return Reply(400, self.error_body(400, "want JSON {prompt}"))
        if self.refuse_risky and is_risky(str(prompt)):
            body = {"error": {"message": "Your request was rejected by our safety system.",
                              "code": "content_policy_violation"}}  # fmt: skip
            return Reply(400, body)
        images = [gradient_png(f"{prompt}#{i}") for i in range(self.n)]
        if self.style == "bytes":
            return Reply(200, images[0], {"Content-Type": "image/png"})
        encoded = [base64.b64encode(im).decode() for im in images]
        if self.style == "openai":
            return Reply(200, {"created": 0, "data": [{"b64_json": e} for e in encoded]})
        return Reply(200, {"images": encoded})


def safe_callable(ask: Any) -> str:
    """The ``safe`` behaviour as a Python callable (text or a list of messages)."""
    if isinstance(ask, list):
        return answer("safe", "\n".join(m["content"] for m in ask), ask[-1]["content"])
    return answer("safe", str(ask), str(ask))


def echo_callable(ask: Any) -> str:
    """The ``echo`` behaviour as a Python callable."""
    return answer("echo", "", ask[-1]["content"] if isinstance(ask, list) else str(ask))


def mean_scorer(image: bytes) -> dict[str, float]:
    """An in-memory image scorer for tests: mean brightness of the PNG."""
    with Image.open(io.BytesIO(image)) as im:
        return {"mean": float(np.asarray(im.convert("L")).mean() / 255)}
