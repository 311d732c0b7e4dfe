"""An OpenAI-compatible text model: ``/v1/chat/completions`` or legacy ``/v1/completions``.

Most hosted and self-hosted servers (OpenAI, vLLM, llama.cpp, Ollama, TGI) speak this API, so
one adapter covers them. Decoding is greedy (temperature 0, an optional seed) because an
assessment must be repeatable: a regression gate that flips on sampling noise is useless.
The API key is read from an environment variable named by the caller, so it never appears on
a command line, in ``run.json`` or in an error string.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from childsafe.assess.base import Probe, Response, Target
from childsafe.assess.targets import PROVIDER_REFUSAL
from childsafe.assess.targets._http import RequestOptions, http_error, post
from childsafe.errors import AssessError

MODES = ("chat", "completions")


class OpenAIChatTarget(Target):
    """``base_url`` as for the OpenAI SDK (``https://api.openai.com/v1``); a bare origin such
    as ``http://127.0.0.1:8000`` gets ``/v1`` appended."""

    name = "openai"
    modalities: tuple[str, ...] = ("text",)

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        mode: str = "chat",
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = None,
        options: RequestOptions | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AssessError(f"{base_url!r}: base URL must be http(s)://host[:port][/v1]")
        if mode not in MODES:
            raise AssessError(f"unknown mode {mode!r} (chat, completions)")
        if not model:
            raise AssessError("a model name is required")
        path = parts.path.rstrip("/") or "/v1"
        self.base_url = f"{parts.scheme}://{parts.netloc}{path}"
        self.model = model
        self.mode = mode
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.options = options or RequestOptions()
        self.api_key_env = api_key_env
        key = None
        if api_key_env is not None:
            key = os.environ.get(api_key_env)
            if not key:
                raise AssessError(f"environment variable {api_key_env} (the API key) is not set")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(follow_redirects=False)

    def with_options(self, options: RequestOptions) -> OpenAIChatTarget:
        """The same target with other timeouts/retries (shares the connection pool)."""
        other = copy.copy(self)
        other.options = options
        return other

    def close(self) -> None:
        self._client.close()

    def describe(self) -> Mapping[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "mode": self.mode,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "api_key_env": self.api_key_env,
        }

    def respond(self, probe: Probe) -> Response:
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if self.mode == "chat":
            url = f"{self.base_url}/chat/completions"
            body["messages"] = [dict(m) for m in probe.messages]
        else:
            url = f"{self.base_url}/completions"
            body["prompt"] = transcript(probe)
        got = post(self._client, url, self.options, json=body, headers=self._headers)
        done = Response(probe.id, attempts=got.attempts, latency_ms=got.latency_ms)
        if got.response is None:
            return replace(done, error=got.error)
        if got.response.status_code >= 400:
            return replace(done, error=http_error(got.response))
        text, error = self._parse(got.response)
        return replace(done, text=text, error=error)

    def _parse(self, resp: httpx.Response) -> tuple[str | None, str | None]:
        try:
            payload = resp.json()
        except ValueError:
            return None, f"bad JSON from target (HTTP {resp.status_code})"
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None, "unexpected response: no choices"
        choice = choices[0]
        if self.mode == "chat":
            message = choice.get("message")
            message = message if isinstance(message, dict) else {}
            text = message.get("content")
            if not text and isinstance(message.get("refusal"), str):
                return f"{PROVIDER_REFUSAL} {message['refusal']}", None
        else:
            text = choice.get("text")
        if not text and choice.get("finish_reason") == "content_filter":
            return f"{PROVIDER_REFUSAL} content_filter", None
        if text is None:
            return "", None
        if not isinstance(text, str):
            return None, "unexpected response: content is not text"
        return text, None


def transcript(probe: Probe) -> str:
    """A conversation as one completion prompt, ending where the assistant speaks next."""
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in probe.messages]
    return "\n\n".join([*turns, "Assistant:"])
