"""What the three adapters share: configuration, item checks, result building, pickling.

An adapter is a :class:`~childsafe.classifiers.base.Classifier` whose model runs at a vendor.
Building one is free and offline; ``setup`` resolves the key and URL (constructor arguments
first, then ``Settings``) and refuses to run without a key, or over plain HTTP to anything but
this machine (content would cross the network in the clear). A key read from the environment
is dropped when the classifier is pickled for a worker, which reads its own environment; only
a key passed to the constructor travels with it.
"""

from __future__ import annotations

import ipaddress
import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx

from childsafe.classifiers.adapters._http import (
    ApiError,
    ApiSession,
    RetryPolicy,
    Secret,
    parallel_map,
    public_url,
)
from childsafe.classifiers.adapters._media import Text, is_text_item, prepare_text, spans
from childsafe.classifiers.base import (
    Classifier,
    ClassifierResult,
    Evidence,
    Priority,
    flag,
)
from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.errors import ConfigError, ContentError

_LOOPBACK_NAMES = frozenset({"localhost"})


# One request: the item's index, the piece of its text (None for an image) and what is sent.
Job = tuple[int, tuple[int, int] | None, Item | str]


class ShapeError(ApiError):
    """A 2xx response that does not have the documented shape."""


class ApiClassifier(Classifier):
    """Base of the adapters: subclasses name their settings and implement ``_classify``."""

    key_setting: ClassVar[str]
    url_setting: ClassVar[str]
    max_upload_bytes: ClassVar[int] = 20 * 1024 * 1024

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = 4,
    ) -> None:
        super().__init__(thresholds)
        if concurrency < 1:
            raise ValueError(f"{self.name}: concurrency must be at least 1")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"{self.name}: timeout_s must be positive")
        self._key_arg = Secret(api_key) if api_key else None
        self._url_arg = base_url
        self._timeout_arg = timeout_s
        self.retry = retry or RetryPolicy()
        self.concurrency = concurrency
        self._ready = False
        self._key: Secret | None = None
        self._url = ""
        self._timeout_s = 0.0
        self._text_max_chars = 0
        self._max_pixels = 0

    # -- configuration -------------------------------------------------------------------

    def setup(self) -> None:
        """Resolve key, URL and limits; a missing key or an unsafe URL is a ``ConfigError``."""
        if self._ready:
            return
        settings = Settings()
        env = f"CHILDSAFE_{self.key_setting.upper()}"
        key = self._key_arg or _secret(getattr(settings, self.key_setting))
        if key is None:
            raise ConfigError(f"{self.name}: no API key; set {env} or pass api_key=")
        url = self._url_arg or getattr(settings, self.url_setting)
        if not url:
            url_env = f"CHILDSAFE_{self.url_setting.upper()}"
            raise ConfigError(f"{self.name}: no API URL; set {url_env} or pass base_url=")
        self._url = _check_url(self.name, str(url))
        self._key = key
        self._timeout_s = self._timeout_arg or settings.classifier_timeout_s
        self._text_max_chars = settings.text_max_chars
        self._max_pixels = settings.max_image_pixels
        self._ready = True

    @property
    def url(self) -> str:
        """The endpoint (or base URL) in use; empty before ``setup``."""
        return self._url

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_ready=False, _key=None)  # a worker resolves its own settings
        return state

    def __repr__(self) -> str:
        where = self._url or self._url_arg or f"<{self.url_setting}>"
        key = "'***'" if (self._key or self._key_arg) else "None"
        return f"{type(self).__name__}(url={where!r}, api_key={key})"

    # -- classification ------------------------------------------------------------------

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        """One result per item, in order; vendor and content failures are per-item errors."""
        if not items:
            return []
        self.setup()
        with self._session() as session:
            return self._classify(items, session)

    @abstractmethod
    def _classify(self, items: Sequence[Item], session: ApiSession) -> list[ClassifierResult]:
        """Score ``items`` through ``session``; every failure must become a result."""

    def _plan(
        self, items: Sequence[Item], chunk_chars: int
    ) -> tuple[list[ClassifierResult | None], dict[int, Text], list[Job]]:
        """Checks every item locally and lists the requests to send: one per image, one per
        piece of at most ``chunk_chars`` of a text. Items that fail a local check already
        have their error result and send nothing."""
        results: list[ClassifierResult | None] = [None] * len(items)
        texts: dict[int, Text] = {}
        jobs: list[Job] = []
        for i, item in enumerate(items):
            why = self._precheck(item)
            if why is not None:
                results[i] = self._error(item, why)
                continue
            if not is_text_item(item):
                jobs.append((i, None, item))  # the image is checked in the worker thread
                continue
            try:
                text = texts[i] = prepare_text(item, max_chars=self._text_max_chars)
            except ContentError as exc:
                results[i] = self._error(item, exc)
                continue
            jobs += [(i, s, text.text[slice(*s)]) for s in spans(text.text, chunk_chars)]
        return results, texts, jobs

    def _gather(
        self,
        items: Sequence[Item],
        planned: tuple[list[ClassifierResult | None], dict[int, Text], list[Job]],
        send: Callable[[Job], Any],
        combine: Callable[
            [Item, list[tuple[tuple[int, int] | None, Any]], Text | None], ClassifierResult
        ],
    ) -> list[ClassifierResult]:
        """Sends the planned requests ``concurrency`` at a time and combines each item's
        answers (one for an image, one per text piece) into its result."""
        results, texts, jobs = planned
        answers: dict[int, list[tuple[tuple[int, int] | None, Any]]] = {}
        for job, answer in zip(jobs, parallel_map(send, jobs, self.concurrency), strict=True):
            answers.setdefault(job[0], []).append((job[1], answer))
        for i, parts in answers.items():
            results[i] = combine(items[i], parts, texts.get(i))
        return [
            r if r is not None else self._error(items[i], "no result")
            for i, r in enumerate(results)
        ]

    @abstractmethod
    def _headers(self, key: str) -> dict[str, str]:
        """The request headers, authentication included."""

    def _session(self) -> ApiSession:
        assert self._key is not None
        return ApiSession(
            self.name,
            secret=self._key,
            headers={"User-Agent": "childsafe", **self._headers(self._key.reveal())},
            timeout_s=self._timeout_s,
            retry=self.retry,
            concurrency=self.concurrency,
        )

    def _priority(self, flagged: Sequence[str]) -> Priority:
        """Review priority from the flagged labels; subclasses say what matters most."""
        return Priority.LOW if flagged else Priority.NONE

    def _result(
        self,
        scores: dict[str, float],
        *,
        evidence: Sequence[Evidence] = (),
        details: Mapping[str, Any] | None = None,
    ) -> ClassifierResult:
        scores = {label: min(1.0, max(0.0, float(s))) for label, s in scores.items()}
        flagged = flag(scores, self.thresholds)
        return ClassifierResult(
            self.name,
            self.model,
            scores=scores,
            thresholds=dict(self.thresholds),
            flagged=flagged,
            evidence=tuple(e for e in evidence if e.label in flagged),
            priority=self._priority(flagged),
            details={"vendor_url": public_url(self._url), **(details or {})},
        )

    def _error(self, item: Item, exc: Exception | str) -> ClassifierResult:
        """A per-item error naming the classifier and the item (content errors name it)."""
        text = str(exc)
        if isinstance(exc, ContentError) and text.startswith(f"{item.id}:"):
            return self.failed(f"{self.name}: {text}")
        return self.failed(f"{self.name}: {item.id}: {text}")

    def _precheck(self, item: Item) -> str | None:
        """Why ``item`` cannot be sent at all (a reader error, no content), else ``None``."""
        if item.error:
            return f"not classified: {item.error}"
        if not item.has_content and item.text is None:
            return "nothing to classify (no content and no text)"
        return None


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _check_url(name: str, url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: invalid API URL {url!r}: {exc}") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigError(f"{name}: API URL must be http(s)://host/..., got {url!r}")
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise ConfigError(
            f"{name}: refusing to send content over plain HTTP to {parsed.host}; use https"
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shape(condition: bool, what: str) -> None:
    """Raise :class:`ShapeError` unless the response has the expected ``what``."""
    if not condition:
        raise ShapeError(f"unexpected response shape: {what}")


def number(value: Any, what: str) -> float:
    """``value`` as a finite float; anything else (a string, a bool, NaN) is a ``ShapeError``.

    Python's JSON decoder accepts ``NaN``, which would otherwise clamp to a reassuring 0.
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    shape(ok, f"{what} is not a finite number")
    return float(value)
