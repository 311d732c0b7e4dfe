"""What screening takes, what it returns, and where its decisions are logged.

The service (``childsafe serve``) and the in-process guard (``childsafe.guard``) share these
types so a platform sees the same verdicts, reasons and decision log whichever it uses.

Minimise exposure (DESIGN rule 2): a ``DecisionEntry`` carries hashes, verdicts and reasons,
never the content itself; a prompt is logged as its SHA-256, an image as its SHA-256 and PDQ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from childsafe.classifiers.base import ClassifierResult
from childsafe.types import Match


class ContentKind(StrEnum):
    """What is being screened; a policy has one rule per kind."""

    PROMPT = "prompt"
    CAPTION = "caption"
    GENERATED_TEXT = "generated_text"
    IMAGE = "image"  # a user upload
    GENERATED_IMAGE = "generated_image"
    MESSAGE = "message"  # one chat message, scored in its conversation

    @property
    def is_text(self) -> bool:
        return self in (
            ContentKind.PROMPT,
            ContentKind.CAPTION,
            ContentKind.GENERATED_TEXT,
            ContentKind.MESSAGE,
        )


class Source(StrEnum):
    """Where a decision-log entry came from."""

    API = "api"
    GUARD = "guard"
    USER_REPORT = "user_report"


@dataclass(frozen=True, slots=True)
class Subject:
    """Who and what the content belongs to, as the platform names them (opaque ids)."""

    user_id: str | None = None
    conversation_id: str | None = None
    sender: str | None = None
    recipient: str | None = None
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScreenRequest:
    """One thing to screen: ``text`` for text kinds, ``data`` (encoded image bytes) for images."""

    kind: ContentKind
    tenant: str
    text: str | None = None
    data: bytes | None = None
    subject: Subject = field(default_factory=Subject)
    request_id: str | None = None  # generated when absent


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """The policy that decided: recorded with every verdict, so a decision can be replayed."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class ScreenVerdict:
    """``allow | review | block`` and everything a platform and an auditor need about it.

    ``message`` is the prevention message to show the user (only when the policy says so);
    ``create_case`` asks the review workflow to open a case. ``error`` is set when some check
    could not run: the policy's ``on_error`` outcome then applies (fail closed by default).
    """

    request_id: str
    decision: str  # "allow" | "review" | "block"
    reasons: tuple[str, ...]
    policy: PolicyRef
    kind: ContentKind
    content_sha256: str
    matches: tuple[Match, ...] = ()
    scores: tuple[ClassifierResult, ...] = ()
    message: str | None = None
    create_case: bool = False
    error: str | None = None
    pdq: str | None = None
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the API returns (and the guard raises with)."""
        return {
            "request_id": self.request_id,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "policy": {"name": self.policy.name, "version": self.policy.version},
            "kind": str(self.kind),
            "content_sha256": self.content_sha256,
            "pdq": self.pdq,
            "matches": [
                {
                    "bank": m.bank,
                    "hash_type": m.hash_type,
                    "distance": m.distance,
                    "entry_id": m.entry_id,
                    "label": m.label,
                }
                for m in self.matches
            ],
            "scores": [s.to_dict() for s in self.scores],
            "message": self.message,
            "create_case": self.create_case,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 3),
        }


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """One row of the decision log: hashes and verdicts, never content."""

    request_id: str
    tenant: str
    created_at: datetime
    source: Source
    kind: ContentKind
    decision: str
    reasons: tuple[str, ...]
    policy: PolicyRef
    content_sha256: str
    pdq: str | None = None
    subject: Subject = field(default_factory=Subject)
    match_summary: tuple[str, ...] = ()  # "bank:hash_type:entry_id:distance"
    score_summary: dict[str, float] = field(default_factory=dict)  # "classifier.label": score
    create_case: bool = False
    note: str | None = None  # a user report's reason code (never free text from the content)


class DecisionLog(ABC):
    """Append-only log of decisions. ``record`` returns only once the entry is durable, so a
    restart never loses a decision that was answered."""

    @abstractmethod
    def record(self, entry: DecisionEntry) -> None:
        """Persist one entry (idempotent on ``request_id`` + ``source``)."""

    @abstractmethod
    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        decision: str | None = None,
        limit: int = 100,
    ) -> Sequence[DecisionEntry]:
        """Entries of one tenant, newest first."""

    @abstractmethod
    def get(self, tenant: str, request_id: str) -> DecisionEntry | None:
        """One entry by request id, only within that tenant."""


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """A policy document as stored: the JSON form, its tenant and version."""

    tenant: str
    name: str
    version: int
    document: dict[str, Any]
    created_at: datetime
    active: bool = False


class PolicyStore(ABC):
    """Versioned policy documents per tenant (``storage/`` implements it). Versions only grow;
    activating an older version is a new, auditable change, never an edit in place."""

    @abstractmethod
    def put(self, tenant: str, name: str, document: dict[str, Any], activate: bool = True) -> int:
        """Store a new version; return its number."""

    @abstractmethod
    def active(self, tenant: str) -> StoredPolicy | None:
        """The tenant's active policy, if any."""

    @abstractmethod
    def history(self, tenant: str) -> Sequence[StoredPolicy]:
        """Every stored version, newest first."""

    @abstractmethod
    def activate(self, tenant: str, version: int) -> None:
        """Make an existing version the active one."""
