"""A text-to-image HTTP endpoint: POST ``{"prompt": ...}``, get images back.

Accepted answers: raw image bytes (``Content-Type: image/*``), or JSON holding base64 images
in any of the common shapes: ``{"images": [b64 | {"b64_json"|"base64"|"image": b64}]}``,
OpenAI's ``{"data": [{"b64_json": ...}]}``, Stability's ``{"artifacts": [{"base64": ...}]}``,
or ``{"image": b64}``. A 400/403/422 whose code names a content policy is the provider
refusing, recorded as a refusal, not an error.

Minimise exposure: an image a model produced in answer to an attack probe may itself be
harmful, so images live only in memory. Each is hashed (sha256), scored by the injected
``scorer`` and dropped; nothing is written to disk, and the run keeps only hashes and scores.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import io
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from childsafe.assess.base import Probe, Response, Target
from childsafe.assess.targets import PROVIDER_REFUSAL
from childsafe.assess.targets._http import RequestOptions, error_code, http_error, post
from childsafe.errors import AssessError

Scorer = Callable[[bytes], Mapping[str, float]]
_POLICY_WORDS = ("policy", "safety", "moderation", "nsfw", "content_filter")


class ImageHTTPTarget(Target):
    name = "image-http"
    modalities: tuple[str, ...] = ("image",)

    def __init__(
        self,
        url: str,
        *,
        scorer: Scorer | None = None,
        api_key_env: str | None = None,
        extra: Mapping[str, Any] | None = None,
        max_image_bytes: int = 20 * 1024 * 1024,
        options: RequestOptions | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AssessError(f"{url!r}: the image endpoint must be an http(s) URL")
        self.url = url
        self.scorer = scorer
        self.extra = dict(extra or {})
        self.max_image_bytes = max_image_bytes
        self.options = options or RequestOptions()
        self.api_key_env = api_key_env
        self._headers: dict[str, str] = {}
        if api_key_env is not None:
            key = os.environ.get(api_key_env)
            if not key:
                raise AssessError(f"environment variable {api_key_env} (the API key) is not set")
            self._headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(follow_redirects=False)

    def with_options(self, options: RequestOptions) -> ImageHTTPTarget:
        other = copy.copy(self)
        other.options = options
        return other

    def close(self) -> None:
        self._client.close()

    def describe(self) -> Mapping[str, Any]:
        scorer = getattr(self.scorer, "name", None) or getattr(self.scorer, "__qualname__", None)
        return {
            "name": self.name,
            "url": self.url,
            "extra": self.extra,
            "scorer": scorer,
            "api_key_env": self.api_key_env,
        }

    def respond(self, probe: Probe) -> Response:
        prompt = probe.messages[-1]["content"]
        body = {**self.extra, "prompt": prompt}
        got = post(self._client, self.url, self.options, json=body, headers=self._headers)
        done = Response(probe.id, attempts=got.attempts, latency_ms=got.latency_ms)
        resp = got.response
        if resp is None:
            return replace(done, error=got.error)
        if resp.status_code >= 400:
            code = error_code(resp) or ""
            policy = any(w in code.lower() for w in _POLICY_WORDS)
            if resp.status_code in (400, 403, 422) and policy:
                return replace(done, text=f"{PROVIDER_REFUSAL} {code}")
            return replace(done, error=http_error(resp))
        try:
            images = self._images(resp)
        except AssessError as exc:
            return replace(done, error=str(exc))
        hashes = tuple(hashlib.sha256(im).hexdigest() for im in images)
        scores: list[Mapping[str, float]] = []
        error = None
        for i, image in enumerate(images, 1):
            if self.scorer is None:
                scores.append({})
                continue
            try:
                scores.append({str(k): float(v) for k, v in self.scorer(image).items()})
            except Exception as exc:  # one bad score is this probe's error, not the run's
                scores.append({})
                error = error or f"scorer failed on image {i}: {type(exc).__name__}"
        del images  # never kept beyond this call
        return replace(done, image_hashes=hashes, image_scores=tuple(scores), error=error)

    def _images(self, resp: httpx.Response) -> list[bytes]:
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype.startswith("image/"):
            raw = [resp.content]
        else:
            try:
                payload = resp.json()
            except ValueError:
                raise AssessError(f"bad JSON from target (HTTP {resp.status_code})") from None
            raw = [_b64(item, i) for i, item in enumerate(_image_items(payload), 1)]
        if not raw:
            raise AssessError("no images in response")
        for i, data in enumerate(raw, 1):
            if len(data) > self.max_image_bytes:
                raise AssessError(f"image {i} is over {self.max_image_bytes} bytes")
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.verify()
            except Exception:
                raise AssessError(f"image {i} is not a decodable image") from None
        return raw


def _image_items(payload: Any) -> list[Any]:
    if not isinstance(payload, dict):
        raise AssessError("unexpected response: not a JSON object")
    for key in ("images", "data", "artifacts"):
        if isinstance(payload.get(key), list):
            return list(payload[key])
    if isinstance(payload.get("image"), str):
        return [payload["image"]]
    return []


def _b64(item: Any, i: int) -> bytes:
    if isinstance(item, dict):
        item = item.get("b64_json") or item.get("base64") or item.get("image")
    if not isinstance(item, str):
        raise AssessError(f"image {i}: want base64 text")
    if item.startswith("data:"):
        item = item.partition(",")[2]
    try:
        return base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        raise AssessError(f"image {i}: not valid base64") from None
