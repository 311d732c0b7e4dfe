"""``Guard``: screen the prompt → generate → screen every output → return what is allowed.

The guard wraps a generation callable in-process, with the same ``Screener`` (so the same
policy, banks and decision log) as the service. Every screening is logged with source
``guard`` and a request id ``<generation id>.prompt`` / ``<generation id>.output.<n>``, so an
auditor can put one generation's decisions back together.

``review`` verdicts are withheld by default (``on_review="withhold"``): for a guard, review
means a human has not looked yet, and the default policy uses review to fail closed when a
check could not run — passing such output to the user would make "fail closed" mean nothing.
A platform that publishes first and reviews later sets ``on_review="allow"``; the entry in the
log (with its case flag) is the same either way.

``marker`` (provenance: a watermark or a C2PA manifest, see ``childsafe.provenance``) runs only
on images that are returned, after screening: a withheld image is never marked as if it had
been published. An exception from the marker propagates — returning an unmarked image would
break the platform's provenance promise silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal, overload

from PIL import Image

from childsafe.errors import ScreenError
from childsafe.guard._images import images_of, to_png
from childsafe.guard.result import HELD_FOR_REVIEW, PROMPT_BLOCKED, Blocked, GuardResult
from childsafe.screening.base import ContentKind, ScreenRequest, ScreenVerdict, Source, Subject
from childsafe.screening.screener import Screener

Marker = Callable[[Image.Image], Image.Image]
# ``Callable[..., …]`` rather than a ParamSpec: mypy refuses ``Concatenate[str, P]`` for any
# generator that takes ``**kwargs`` (every diffusers pipeline does), so precise signatures
# would make the guard unusable from typed code.
TextFn = Callable[..., str]
GuardedText = Callable[..., GuardResult[str]]
ImageFn = Callable[..., Any]
GuardedImages = Callable[..., GuardResult[list[Image.Image]]]


class Guard:
    """Guards text and image generation for one tenant (and optionally one user)."""

    def __init__(
        self,
        screener: Screener,
        *,
        tenant: str | None = None,
        subject: Subject | None = None,
        marker: Marker | None = None,
        on_review: Literal["withhold", "allow"] = "withhold",
        raise_on_block: bool = True,
    ) -> None:
        if on_review not in ("withhold", "allow"):
            raise ValueError(f"on_review must be 'withhold' or 'allow', not {on_review!r}")
        self.screener = screener
        self.tenant = tenant or screener.settings.default_tenant
        self.subject = subject or Subject()
        self.marker = marker
        self.on_review = on_review
        self.raise_on_block = raise_on_block
        screener.policy(self.tenant)  # a bad tenant name fails here, not mid-generation

    def with_subject(self, subject: Subject) -> Guard:
        """The same guard for another user or conversation (one per request, typically)."""
        other = Guard.__new__(Guard)
        other.__dict__.update(self.__dict__)
        other.subject = subject
        return other

    # -- wrapping --------------------------------------------------------------------------

    @overload
    def text(self, generate: TextFn, *, raise_on_block: bool | None = None) -> GuardedText: ...

    @overload
    def text(
        self, generate: None = None, *, raise_on_block: bool | None = None
    ) -> Callable[[TextFn], GuardedText]: ...

    def text(
        self, generate: TextFn | None = None, *, raise_on_block: bool | None = None
    ) -> GuardedText | Callable[[TextFn], GuardedText]:
        """Wrap ``generate(prompt, ...) -> str`` (or use as ``@guard.text``)."""

        def wrap(fn: TextFn) -> GuardedText:
            def guarded(prompt: str, /, *args: Any, **kwargs: Any) -> GuardResult[str]:
                gid, pv = self._prompt(prompt)
                if not self._passes(pv):
                    return self._refuse("prompt", pv, (pv,), gid, raise_on_block)
                out = fn(prompt, *args, **kwargs)
                if not isinstance(out, str):
                    raise ScreenError(
                        f"generation {gid}: the generator returned {type(out).__name__}, "
                        "expected str"
                    )
                if not out.strip():  # nothing to screen, nothing harmful to show
                    return GuardResult(out, True, (pv,), gid)
                ov = self._screen(ContentKind.GENERATED_TEXT, f"{gid}.output.0", text=out)
                if not self._passes(ov):
                    return self._refuse("output", ov, (pv, ov), gid, raise_on_block)
                return GuardResult(out, True, (pv, ov), gid)

            return guarded

        return wrap(generate) if generate is not None else wrap

    @overload
    def images(self, pipe: ImageFn, *, raise_on_block: bool | None = None) -> GuardedImages: ...

    @overload
    def images(
        self, pipe: None = None, *, raise_on_block: bool | None = None
    ) -> Callable[[ImageFn], GuardedImages]: ...

    def images(
        self, pipe: ImageFn | None = None, *, raise_on_block: bool | None = None
    ) -> GuardedImages | Callable[[ImageFn], GuardedImages]:
        """Wrap a diffusers-style ``pipe(prompt, ...)`` returning an object with ``.images``,
        a list of PIL images or one image; the result's ``output`` is the allowed images."""

        def wrap(fn: ImageFn) -> GuardedImages:
            def guarded(
                prompt: str, /, *args: Any, **kwargs: Any
            ) -> GuardResult[list[Image.Image]]:
                gid, pv = self._prompt(prompt)
                if not self._passes(pv):
                    return self._refuse("prompt", pv, (pv,), gid, raise_on_block)
                produced = images_of(fn(prompt, *args, **kwargs), gid)
                return self._outputs(gid, pv, produced, raise_on_block)

            return guarded

        return wrap(pipe) if pipe is not None else wrap

    # -- internals -------------------------------------------------------------------------

    def _prompt(self, prompt: str) -> tuple[str, ScreenVerdict]:
        gid = uuid.uuid4().hex
        if not isinstance(prompt, str):
            raise ScreenError(f"generation {gid}: prompt is {type(prompt).__name__}, not str")
        return gid, self._screen(ContentKind.PROMPT, f"{gid}.prompt", text=prompt)

    def _screen(
        self, kind: ContentKind, rid: str, *, text: str | None = None, data: bytes | None = None
    ) -> ScreenVerdict:
        request = ScreenRequest(
            kind, self.tenant, text=text, data=data, subject=self.subject, request_id=rid
        )
        return self.screener.screen(request, Source.GUARD)

    def _passes(self, verdict: ScreenVerdict) -> bool:
        return verdict.decision == "allow" or (
            verdict.decision == "review" and self.on_review == "allow"
        )

    def _outputs(
        self,
        gid: str,
        pv: ScreenVerdict,
        produced: list[Image.Image],
        raise_on_block: bool | None,
    ) -> GuardResult[list[Image.Image]]:
        verdicts: list[ScreenVerdict] = []
        allowed: list[Image.Image] = []
        for i, image in enumerate(produced):
            data = to_png(image, f"generation {gid} output {i}")
            verdict = self._screen(ContentKind.GENERATED_IMAGE, f"{gid}.output.{i}", data=data)
            verdicts.append(verdict)
            if self._passes(verdict):
                allowed.append(self.marker(image) if self.marker is not None else image)
        refused = [v for v in verdicts if not self._passes(v)]
        everything = (pv, *verdicts)
        if produced and not allowed:
            worst = next((v for v in refused if v.decision == "block"), refused[0])
            return self._refuse("output", worst, everything, gid, raise_on_block)
        message = next((v.message for v in refused if v.message), None)
        if refused and message is None:
            message = HELD_FOR_REVIEW
        return GuardResult(allowed, True, everything, gid, message, withheld=len(refused))

    def _refuse(
        self,
        stage: str,
        verdict: ScreenVerdict,
        verdicts: tuple[ScreenVerdict, ...],
        gid: str,
        raise_on_block: bool | None,
    ) -> GuardResult[Any]:
        fallback = PROMPT_BLOCKED if verdict.decision == "block" else HELD_FOR_REVIEW
        result: GuardResult[Any] = GuardResult(
            None,
            False,
            verdicts,
            gid,
            message=verdict.message or fallback,
            withheld=max(0, len(verdicts) - 1),
            stage=stage,
        )
        if raise_on_block if raise_on_block is not None else self.raise_on_block:
            raise Blocked(result, verdict)
        return result
