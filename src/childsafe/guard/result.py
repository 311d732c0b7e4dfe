"""What a guarded call returns, and what it raises when nothing may be returned.

A guarded generation ends one of three ways: everything allowed (``GuardResult`` with the
output), some outputs withheld (a ``GuardResult`` with the allowed ones, ``withheld`` > 0 and
the policy's message for the user), or nothing at all — the prompt was blocked, or every
output was withheld. By default that last case raises ``Blocked``, because a caller that
forgets to check a flag must not show nothing as if it were an answer; ``raise_on_block=False``
returns a ``GuardResult`` with ``allowed=False`` instead, for callers that branch on results.
Either way the verdicts (already in the decision log) travel with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from childsafe.errors import ChildsafeError
from childsafe.screening.base import ScreenVerdict

T = TypeVar("T")

PROMPT_BLOCKED = "This request cannot be completed under the content-safety policy."
HELD_FOR_REVIEW = "This content is being held for a safety review."


@dataclass(frozen=True, slots=True)
class GuardResult(Generic[T]):
    """The outcome of one guarded generation.

    ``output`` is the generated text, or the list of allowed (and marked) images; None when
    nothing was allowed. ``verdicts`` has the prompt's verdict first, then one per output in
    the generator's order. ``stage`` says where a refusal happened (``prompt``/``output``).
    """

    output: T | None
    allowed: bool
    verdicts: tuple[ScreenVerdict, ...]
    generation_id: str
    message: str | None = None
    withheld: int = 0
    stage: str | None = None

    @property
    def prompt_verdict(self) -> ScreenVerdict:
        return self.verdicts[0]

    @property
    def output_verdicts(self) -> tuple[ScreenVerdict, ...]:
        return self.verdicts[1:]


class Blocked(ChildsafeError):
    """The guard returned nothing: ``message`` is what to show the user (the policy's
    prevention message when it has one), ``verdict`` the verdict that decided, ``result``
    the full non-raising result (every verdict, the generation id)."""

    def __init__(self, result: GuardResult[object], verdict: ScreenVerdict) -> None:
        self.result = result
        self.verdict = verdict
        self.message = result.message or PROMPT_BLOCKED
        self.stage = result.stage
        super().__init__(
            f"{result.stage} {verdict.decision} (request {verdict.request_id}): {self.message}"
        )

    @property
    def verdicts(self) -> tuple[ScreenVerdict, ...]:
        return self.result.verdicts
