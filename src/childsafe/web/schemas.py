"""HTTP schemas shared by several routers: the verdict, a bank match, a subject.

Pydantic lives here, at the edge (STYLE 12); the library's value objects stay dataclasses and
these models mirror their JSON forms (``ScreenVerdict.to_dict``, ``ClassifierResult.to_dict``)
so the OpenAPI schema documents exactly what the service sends.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from childsafe.screening.base import Subject

# "Not blank": at least one character that is not whitespace. ``\x1c-\x1f`` and ``\x85`` are
# spelled out because Python's ``str.strip`` (what the screener checks) treats them as
# whitespace while some regex engines' ``\s`` (pydantic's Rust one, clients' generators) do
# not; with them listed, every reader of the schema agrees with the screener.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"
IdStr = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NOT_BLANK)]


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


#: An integer that also takes ``26.0`` (JSON Schema calls that an integer) but not ``true``.
JsonInt = Annotated[int, BeforeValidator(_no_bool)]
ID = Field(default=None, min_length=1, max_length=256, pattern=NOT_BLANK)
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"


class StrictIn(BaseModel):
    """Request bodies refuse unknown fields: a typo must not silently drop an id."""

    model_config = ConfigDict(extra="forbid")


class SubjectIn(StrictIn):
    """Opaque ids from your platform (never content): whose content this is."""

    user_id: str | None = ID
    conversation_id: str | None = ID
    sender: str | None = ID
    recipient: str | None = ID
    content_id: str | None = ID

    def to_subject(self) -> Subject:
        return Subject(
            user_id=self.user_id,
            conversation_id=self.conversation_id,
            sender=self.sender,
            recipient=self.recipient,
            content_id=self.content_id,
        )


class PolicyOut(BaseModel):
    name: str
    version: str


class MatchOut(BaseModel):
    """One bank entry the content matched; ``distance`` is 0 for exact hashes."""

    bank: str
    hash_type: str
    distance: int
    entry_id: int
    label: str | None = None


class ModelOut(BaseModel):
    name: str
    version: str
    licence: str


class EvidenceOut(BaseModel):
    """What drove a label: a span of the text you sent, or a box in the image."""

    label: str
    detail: str
    start: int | None = None
    end: int | None = None
    box: list[int] | None = None
    score: float | None = None


class ScoreOut(BaseModel):
    """One classifier's scores: triage for human review, never a verdict on its own."""

    classifier: str
    model: ModelOut
    scores: dict[str, float | None]
    thresholds: dict[str, float]
    flagged: list[str]
    priority: Literal["none", "low", "medium", "high"]
    evidence: list[EvidenceOut]
    details: dict[str, Any]
    error: str | None = None


class VerdictOut(BaseModel):
    """The screening verdict: what to do, why, and under which policy version."""

    request_id: str = Field(description="Key of the decision-log entry; echoed in X-Request-ID.")
    decision: Literal["allow", "review", "block"]
    reasons: list[str] = Field(description="Stable reason codes, e.g. `match:bank:pdq`.")
    policy: PolicyOut
    kind: str
    content_sha256: str = Field(description="SHA-256 of what was screened (all that is logged).")
    pdq: str | None = Field(default=None, description="PDQ of an image (also logged).")
    matches: list[MatchOut]
    scores: list[ScoreOut]
    message: str | None = Field(
        default=None, description="Prevention message to show the user, when the policy says so."
    )
    create_case: bool = Field(description="Whether the policy opens a review case.")
    error: str | None = Field(
        default=None, description="Checks that could not run (the policy's on_error applied)."
    )
    latency_ms: float
