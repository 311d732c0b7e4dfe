"""Cases, items, review decisions, reveals and appeals: the review workflow's nouns.

A **case** groups everything about one *subject* (a user, an upload, a conversation, a
dataset, a hosted model) within one tenant: while a case for a subject is open, new findings
about it join it as **items** instead of opening another case. A case's **priority** is the
most urgent of its items' (1 = a match against a confirmed hash list, 2 = a classifier with a
minor signal, 3 = another classifier, 4 = a user report or hotline notice), and its **SLA**
deadline follows from the priority (``Settings.sla_hours``).

Reviewers **claim** cases; a claim is atomic (two reviewers asking at once never get the
same case). A **decision** is a reviewer's verdict on one item (or the whole case) with a
reason code and, for a violation, the Tech Coalition industry classification (A1, A2, B1,
B2). With ``Settings.second_review`` a violation waits for a second reviewer (not the first)
before anything is reported. Users **appeal** actioned cases; a lead upholds or restores.

Exposure: media is blurred and greyscale until a reviewer deliberately **reveals** an item;
a reveal of the file and a reveal of its EXIF are recorded separately (who, when). These
records, and nothing else, become a CyberTipline report's ``fileViewedByEsp`` and
``exifViewedByEsp`` (US v. Wilson): a hash match alone never sets them. Reveals count
against the reviewer's daily limit.

Every state change writes an :class:`~childsafe.audit.base.AuditEvent` in the same
transaction as the change.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any


class Role(StrEnum):
    """What a console user may do. Leads review too; auditors read only, never reveal."""

    REVIEWER = "reviewer"
    LEAD = "lead"  # + second review, appeals, reassign, escalations
    ADMIN = "admin"  # + manage reviewers, evidence holds and destruction
    AUDITOR = "auditor"  # read cases, decisions and the audit log; no media


class CasePriority(IntEnum):
    """Lower is more urgent."""

    KNOWN_HASH = 1  # match against a confirmed hash list
    CLASSIFIER_MINOR = 2  # classifier with a minor signal (apparent age, minor terms)
    CLASSIFIER = 3  # other classifier triage
    USER_REPORT = 4  # user report, hotline notice, other


class DetectionSource(StrEnum):
    """Where a finding came from; transparency reports count by this."""

    HASH = "hash"
    CLASSIFIER = "classifier"
    USER_REPORT = "user_report"
    HOTLINE_NOTICE = "hotline_notice"
    DATASET_SCAN = "dataset_scan"
    MODEL_SCAN = "model_scan"


class SubjectKind(StrEnum):
    USER = "user"
    UPLOAD = "upload"
    CONVERSATION = "conversation"
    DATASET = "dataset"
    MODEL = "model"


class CaseState(StrEnum):
    OPEN = "open"  # waiting in the queue
    IN_REVIEW = "in_review"  # claimed by a reviewer
    ESCALATED = "escalated"  # waiting for a lead
    SECOND_REVIEW = "second_review"  # a violation waits for a second reviewer
    ACTIONED = "actioned"  # violation confirmed: actions and reporting follow
    NO_VIOLATION = "no_violation"  # closed without action
    APPEALED = "appealed"  # an appeal waits for a lead
    RESTORED = "restored"  # appeal granted: actions reversed
    CLOSED = "closed"  # nothing more to do (reported, appeal denied, ...)


OPEN_STATES = frozenset(
    {CaseState.OPEN, CaseState.IN_REVIEW, CaseState.ESCALATED, CaseState.SECOND_REVIEW}
)


class Outcome(StrEnum):
    VIOLATION = "violation"
    NO_VIOLATION = "no_violation"
    ESCALATE = "escalate"


class IndustryClass(StrEnum):
    """Tech Coalition industry classification: A prepubescent, B pubescent;
    1 explicit sexual activity, 2 non-explicit nudity or sexual posing."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


# Reason codes a decision must carry (the console offers these; policy may add more).
REASON_CODES: Mapping[str, str] = {
    "csam_known": "Matches known CSAM (confirmed hash list)",
    "csam_new": "Apparent CSAM not in any hash list",
    "aig_csam": "AI-generated or altered sexualised depiction of a minor",
    "csem_grooming": "Grooming or enticement of a minor",
    "csem_sextortion": "Sextortion",
    "csem_other": "Other child sexual exploitation",
    "adult_content": "Adult content, no minor involved",
    "benign_child": "Benign content involving a child",
    "false_positive_hash": "Hash match on unrelated content (false positive)",
    "insufficient": "Not enough to decide",
}


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str  # the platform's user id / upload id / conversation id; a dataset path; a model id


@dataclass(frozen=True, slots=True)
class Finding:
    """What intake turns into a case item (from a scan row, a verdict, a user report, a
    hash match, a model-scan finding). Content bytes, when given, go straight into the
    encrypted evidence store (purpose ``review``); the finding itself carries none."""

    tenant: str
    subject: Subject
    source: DetectionSource
    priority: CasePriority
    item_ref: str  # the item's own id: upload id, scan item_id, request id, message id
    kind: str  # "image" | "video" | "text" | "conversation" | "model" | "dataset_item"
    reasons: tuple[str, ...] = ()
    hashes: Mapping[str, str] = field(default_factory=dict)  # "md5"/"sha256"/"pdq" -> value
    matches: tuple[str, ...] = ()  # "bank:hash_type:entry_id:distance"
    scores: Mapping[str, float] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)  # source, url, shard, ip, ...
    generative_ai: bool = False  # the content is (said to be) AI-generated
    occurred_at: datetime | None = None  # when the content was uploaded/seen
    dedupe_key: str | None = None  # same key twice → same item (intake is idempotent)


@dataclass(frozen=True, slots=True)
class CaseItem:
    id: int
    case_id: int
    item_ref: str
    kind: str
    source: DetectionSource
    priority: CasePriority
    reasons: tuple[str, ...]
    hashes: Mapping[str, str]
    matches: tuple[str, ...]
    scores: Mapping[str, float]
    provenance: Mapping[str, Any]
    generative_ai: bool
    added_at: datetime
    occurred_at: datetime | None
    evidence_id: str | None  # encrypted content in the evidence store, if any was kept
    file_viewed: bool  # derived from reveal records, never set otherwise
    exif_viewed: bool


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    tenant: str
    subject: Subject
    state: CaseState
    priority: CasePriority
    created_at: datetime
    updated_at: datetime
    due_at: datetime  # SLA deadline for the first decision
    assignee: str | None  # reviewer username
    sources: tuple[DetectionSource, ...]  # distinct, in first-seen order
    item_count: int
    first_decision_at: datetime | None = None
    actioned_at: datetime | None = None
    closed_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        return self.state in OPEN_STATES and now > self.due_at


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    case_id: int
    item_id: int | None  # None: the decision is about the whole case
    reviewer: str
    outcome: Outcome
    reason_code: str
    industry_class: IndustryClass | None
    generative_ai: bool
    second_review: bool  # True when this is the second reviewer's decision
    note: str | None  # the reviewer's words (never pasted content)
    at: datetime


@dataclass(frozen=True, slots=True)
class Reveal:
    id: int
    item_id: int
    reviewer: str
    what: str  # "file" | "exif"
    at: datetime


@dataclass(frozen=True, slots=True)
class Appeal:
    id: int
    case_id: int
    filed_at: datetime
    filed_by: str  # the platform's user id, or "user"
    statement: str | None
    outcome: str | None  # None pending, "upheld" (decision stands) or "restored"
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reviewer:
    username: str
    tenant: str
    role: Role
    display_name: str
    daily_reveal_limit: int
    metadata_only: bool  # reviews by hash/metadata only: never shown media
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Exposure:
    """One reviewer's exposure today (UTC day): reveals so far and what is left."""

    reviewer: str
    day: str  # YYYY-MM-DD
    reveals: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.reveals)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    states: frozenset[CaseState] | None = None
    assignee: str | None = None
    priority: CasePriority | None = None
    source: DetectionSource | None = None
    overdue_at: datetime | None = None  # only cases overdue at this time
    limit: int = 100
    offset: int = 0


class CaseStore(ABC):
    """Persistence and atomic transitions; implemented by ``storage.review.SqlCaseStore``.

    Every method that changes state writes its audit event in the same transaction and
    raises ``childsafe.errors.ReviewError`` (a ``ChildsafeError``) with a clear message on
    an invalid transition (deciding a case you have not claimed, a second review by the
    first reviewer, revealing beyond the daily limit, ...).
    """

    # intake
    @abstractmethod
    def add_finding(
        self, finding: Finding, *, actor: str, evidence_id: str | None = None
    ) -> tuple[Case, CaseItem]:
        """Add to the subject's open case, or open one; idempotent on ``dedupe_key``."""

    # reading
    @abstractmethod
    def get(self, tenant: str, case_id: int) -> Case: ...

    @abstractmethod
    def list(self, tenant: str, flt: CaseFilter | None = None) -> builtins.list[Case]:
        """Queue order: priority, then due time, then id."""

    @abstractmethod
    def items(self, tenant: str, case_id: int) -> builtins.list[CaseItem]: ...

    @abstractmethod
    def item(self, tenant: str, item_id: int) -> CaseItem: ...

    @abstractmethod
    def decisions(self, tenant: str, case_id: int) -> builtins.list[Decision]: ...

    @abstractmethod
    def reveals(self, tenant: str, item_id: int) -> builtins.list[Reveal]: ...

    @abstractmethod
    def appeals(self, tenant: str, case_id: int) -> builtins.list[Appeal]: ...

    # workflow
    @abstractmethod
    def claim_next(self, tenant: str, reviewer: str) -> Case | None:
        """Atomically assign the most urgent unassigned open case (or an escalated one
        to a lead, a second review to someone other than the first reviewer)."""

    @abstractmethod
    def claim(self, tenant: str, case_id: int, reviewer: str) -> Case: ...

    @abstractmethod
    def release(self, tenant: str, case_id: int, reviewer: str) -> Case: ...

    @abstractmethod
    def decide(
        self,
        tenant: str,
        case_id: int,
        reviewer: str,
        *,
        outcome: Outcome,
        reason_code: str,
        item_id: int | None = None,
        industry_class: IndustryClass | None = None,
        generative_ai: bool = False,
        note: str | None = None,
    ) -> Case:
        """Record a decision and move the case (second review, actioned, closed, ...)."""

    @abstractmethod
    def reveal(self, tenant: str, item_id: int, reviewer: str, what: str) -> Exposure:
        """Record a deliberate reveal of the file or its EXIF; refuse past the limit."""

    @abstractmethod
    def exposure(self, tenant: str, reviewer: str, day: str | None = None) -> Exposure: ...

    @abstractmethod
    def file_appeal(
        self, tenant: str, case_id: int, *, filed_by: str, statement: str | None = None
    ) -> Appeal: ...

    @abstractmethod
    def decide_appeal(
        self, tenant: str, appeal_id: int, lead: str, *, restore: bool, note: str | None = None
    ) -> Appeal: ...

    @abstractmethod
    def escalate_overdue(self, now: datetime, *, actor: str = "system:sla") -> int:
        """Escalate open cases past their SLA; the number escalated."""

    @abstractmethod
    def close(self, tenant: str, case_id: int, actor: str, *, note: str | None = None) -> Case:
        """Close an actioned case once reporting and actions are done."""

    # reviewers
    @abstractmethod
    def add_reviewer(
        self,
        tenant: str,
        username: str,
        role: Role,
        password: str,
        *,
        display_name: str = "",
        daily_reveal_limit: int | None = None,
        metadata_only: bool = False,
        actor: str,
    ) -> Reviewer: ...

    @abstractmethod
    def authenticate(self, tenant: str, username: str, password: str) -> Reviewer | None:
        """The reviewer when the password is right and the account enabled (constant-time)."""

    @abstractmethod
    def reviewer(self, tenant: str, username: str) -> Reviewer: ...

    @abstractmethod
    def reviewers(self, tenant: str) -> Sequence[Reviewer]: ...
