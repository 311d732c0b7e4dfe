"""A Python function as the target: ``fn(text) -> str`` or ``fn(messages) -> str``.

For models with no HTTP server (a local ``transformers`` pipeline, a guard-railed wrapper
around one) and for tests. From the command line it is named ``module:function``. A function
cannot be interrupted from outside, so a timeout abandons the call (it finishes in the
background, its answer dropped) rather than hanging the run.
"""

from __future__ import annotations

import copy
import importlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from childsafe.assess.base import Probe, Response, Target
from childsafe.assess.targets._http import RequestOptions
from childsafe.errors import AssessError

TAKES = ("text", "messages")
Fn = Callable[[Any], Any]


class CallableTarget(Target):
    """``takes="text"`` passes the last user turn (a conversation is flattened into a
    transcript); ``takes="messages"`` passes the list of ``{"role", "content"}`` dicts.

    Only ``OSError``/``TimeoutError`` (the network underneath) are retried: any other
    exception is a bug that would fail again, recorded at once as the error.
    """

    name = "callable"

    def __init__(
        self,
        fn: Fn,
        *,
        takes: str = "text",
        label: str | None = None,
        options: RequestOptions | None = None,
        modalities: Sequence[str] = ("text", "image"),
    ) -> None:
        if not callable(fn):
            raise AssessError(f"{fn!r} is not callable")
        if takes not in TAKES:
            raise AssessError(f"unknown takes={takes!r} (text, messages)")
        self.fn = fn
        self.takes = takes
        self.label = label or f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"
        self.options = options or RequestOptions()
        self.modalities = tuple(modalities)

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> CallableTarget:
        """``package.module:function`` (a dotted attribute path after the colon is fine)."""
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise AssessError(f"{spec!r}: want module:function")
        try:
            obj: Any = importlib.import_module(module_name)
        except Exception as exc:
            raise AssessError(f"{spec!r}: cannot import {module_name}: {exc}") from None
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise AssessError(f"{spec!r}: {module_name} has no {attr}") from None
        return cls(obj, label=spec, **kwargs)

    def with_options(self, options: RequestOptions) -> CallableTarget:
        other = copy.copy(self)
        other.options = options
        return other

    def describe(self) -> Mapping[str, Any]:
        return {"name": self.name, "callable": self.label, "takes": self.takes}

    def respond(self, probe: Probe) -> Response:
        if self.takes == "messages":
            arg: Any = [dict(m) for m in probe.messages]
        elif len(probe.messages) == 1:
            arg = probe.messages[0]["content"]
        else:
            arg = "\n\n".join(f"{m['role']}: {m['content']}" for m in probe.messages)
        attempt = 0
        while True:
            attempt += 1
            start = time.perf_counter()
            value, error, retry = self._call(arg)
            latency = (time.perf_counter() - start) * 1000
            if error is None or not retry or attempt > self.options.retries:
                break
            time.sleep(self.options.delay(attempt))
        done = Response(probe.id, attempts=attempt, latency_ms=latency)
        if error is not None:
            return replace(done, error=error)
        if not isinstance(value, str):
            return replace(done, error=f"callable returned {type(value).__name__}, not str")
        return replace(done, text=value)

    def _call(self, arg: Any) -> tuple[Any, str | None, bool]:
        """(value, error, retryable): the call runs on a daemon thread so it can time out."""
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = self.fn(arg)
            except BaseException as exc:  # recorded, never lost with the thread
                box["exc"] = exc

        worker = threading.Thread(target=work, daemon=True, name="childsafe-callable")
        worker.start()
        worker.join(self.options.timeout_s)
        if worker.is_alive():
            return None, f"timeout after {self.options.timeout_s:g}s", True
        exc = box.get("exc")
        if exc is not None:
            if not isinstance(exc, Exception):
                raise exc
            retry = isinstance(exc, OSError | TimeoutError)
            return None, f"{type(exc).__name__}: {str(exc)[:200]}", retry
        return box.get("value"), None, False
