"""Platform actions: what childsafe asks the platform to do, and the outbox that carries it.

childsafe never deletes a user's upload or suspends an account itself: the platform does.
An :class:`ActionEvent` (take this down, suspend that account, restore after a granted
appeal, a report was filed) is written to an **outbox** in the same transaction as the
change that caused it, and a dispatcher delivers it later as a signed webhook. Why an
outbox and not a direct HTTP call: a call made inside the transaction could be sent for a
change that then rolls back, and a call made after the commit is lost if the process dies
in between. With the outbox, a committed change always has its event, and an event always
belongs to a committed change; delivery is *at least once*, so every event carries an
idempotency key the receiver deduplicates on.

An event carries ids, kinds and classifications: never content, never a reviewer's note.

The **hash ledger** records which case and decision contributed each confirmed hash to the
re-upload bank, so that restoring one case removes a hash only when no other confirmed case
still vouches for it, and so that "hashes contributed" can be counted per period.
"""

from __future__ import annotations

import builtins
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from childsafe.errors import ActionError
from childsafe.review.base import Appeal, Case, CaseFilter, CaseItem, Decision

MAX_ATTEMPTS = 8


class CaseReader(Protocol):
    """The read side of :class:`~childsafe.review.base.CaseStore` that actions and
    transparency need (any ``CaseStore`` is one; tests may pass a smaller double)."""

    def get(self, tenant: str, case_id: int) -> Case: ...

    def list(self, tenant: str, flt: CaseFilter | None = None) -> builtins.list[Case]: ...

    def items(self, tenant: str, case_id: int) -> builtins.list[CaseItem]: ...

    def decisions(self, tenant: str, case_id: int) -> builtins.list[Decision]: ...

    def appeals(self, tenant: str, case_id: int) -> builtins.list[Appeal]: ...


class ActionKind(StrEnum):
    TAKEDOWN = "takedown"  # remove the content (a confirmed violation)
    SUSPEND_ACCOUNT = "suspend_account"  # suspend the user behind it
    RESTORE = "restore"  # an appeal was granted: undo the takedown/suspension
    REPORT_FILED = "report_filed"  # a hotline report was filed (for the platform's records)


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # gave up: too many attempts, or an answer retrying cannot fix


@dataclass(frozen=True, slots=True)
class ActionEvent:
    """One thing the platform should do. ``event_id`` is the idempotency key: the same
    event sent twice carries the same key, and callers may pass their own (e.g.
    ``takedown:case-12``) so that recording an action twice makes one event."""

    tenant: str
    kind: ActionKind
    subject_kind: str  # "user" | "upload" | "conversation" | ...
    subject_id: str
    case_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # ids, codes; never content
    event_id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.event_id or len(self.event_id) > 128:
            raise ActionError(f"event id must be 1-128 characters, not {self.event_id!r}")
        if not self.subject_id:
            raise ActionError(f"event {self.event_id}: the subject id is empty")

    def payload(self) -> dict[str, Any]:
        """The JSON body a receiver gets (``id`` is also the ``Idempotency-Key`` header)."""
        return {
            "id": self.event_id,
            "type": self.kind.value,
            "tenant": self.tenant,
            "created_at": self.created_at.astimezone(UTC).isoformat(timespec="seconds"),
            "case_id": self.case_id,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event in the outbox with its delivery state."""

    id: int
    event: ActionEvent
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_status: int | None = None  # the receiver's last HTTP status; None: no answer
    last_error: str | None = None
    delivered_at: datetime | None = None
    dead_at: datetime | None = None


class Outbox(ABC):
    """Implemented by ``storage.actions.SqlOutbox``. Every state change is audited."""

    @abstractmethod
    def enqueue(self, event: ActionEvent, *, conn: Any = None) -> OutboxEntry:
        """Add ``event`` (inside the caller's transaction ``conn`` when given); a second
        enqueue of the same ``event_id`` returns the first entry and adds nothing."""

    @abstractmethod
    def get(self, entry_id: int) -> OutboxEntry: ...

    @abstractmethod
    def claim_due(self, now: datetime, *, limit: int, lease_s: float) -> builtins.list[OutboxEntry]:
        """Pending entries due at ``now``, leased for ``lease_s`` so that two dispatchers
        running at once (two cron jobs overlapping) never send the same entry together."""

    @abstractmethod
    def mark_delivered(self, entry_id: int, *, status: int, now: datetime) -> OutboxEntry: ...

    @abstractmethod
    def mark_failed(
        self,
        entry_id: int,
        *,
        status: int | None,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> OutboxEntry:
        """Count a failed attempt: retry at ``retry_at``, or dead-letter when it is None."""

    @abstractmethod
    def retry(self, entry_id: int, *, actor: str, now: datetime) -> OutboxEntry:
        """Put a dead (or pending) entry back in the queue, due now, attempts reset."""

    @abstractmethod
    def list(
        self,
        tenant: str | None = None,
        *,
        state: DeliveryState | None = None,
        limit: int = 100,
    ) -> builtins.list[OutboxEntry]:
        """Newest first."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """One confirmed hash as a case contributed it to the re-upload bank."""

    tenant: str
    bank: str
    case_id: int
    decision_id: int
    hash_type: str
    value: str
    label: str | None
    added_at: datetime
    released_at: datetime | None = None  # the case was restored


class HashLedger(ABC):
    """Which case and decision vouch for each confirmed hash (``storage.actions.SqlHashLedger``)."""

    @abstractmethod
    def record(self, contributions: Sequence[Contribution]) -> int:
        """Add contributions (unique per tenant, bank, case, hash); a recorded one is kept
        as it was (a released one is revived). Returns how many are new or revived."""

    @abstractmethod
    def release(
        self, tenant: str, bank: str, case_id: int, *, now: datetime
    ) -> builtins.list[tuple[str, str]]:
        """Mark the case's contributions released; return its (hash_type, value) pairs that
        no other live contribution still vouches for. Calling it again returns the same."""

    @abstractmethod
    def contributed(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """Distinct hashes first contributed in ``since <= added_at < until``."""

    @abstractmethod
    def for_case(self, tenant: str, case_id: int) -> builtins.list[Contribution]: ...
