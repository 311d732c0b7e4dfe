"""The evidence store: content that must be kept, encrypted, access-limited, audited, expiring.

Two purposes, two clocks:

* ``review``: content waiting for a human decision (a flagged upload the platform will not
  keep otherwise). Expires ``Settings.review_media_retention_days`` after it was stored
  unless it is promoted to ``report``.
* ``report``: content of a filed report (and commingled files), kept for
  ``Settings.evidence_retention_days`` (one year: 18 U.S.C. 2258A(h) as amended by the REPORT
  Act) from the report, longer only under a **legal hold**.

Every blob is encrypted (AES-256-GCM, a fresh nonce per blob, the evidence id and tenant as
associated data so a blob cannot be swapped between rows). Reading is limited by role
(reviewers only for items of cases they may review; leads and admins; auditors never read
content) and every read, hold, release, promotion and destruction is an audit event.
Destruction overwrites the ciphertext row and keeps a tombstone (id, hashes, when, why, who).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Purpose(StrEnum):
    REVIEW = "review"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """Metadata of one stored blob (never its bytes)."""

    id: str  # "ev_" + 26 random url-safe characters
    tenant: str
    purpose: Purpose
    case_id: int | None
    item_ref: str
    content_type: str
    size: int
    sha256: str  # of the plaintext, as received
    md5: str
    stored_at: datetime
    expires_at: datetime
    legal_hold: bool
    destroyed_at: datetime | None = None
    destroyed_reason: str | None = None


class EvidenceStore(ABC):
    """Implemented by ``storage.evidence.SqlEvidenceStore`` (blobs in the database)."""

    @abstractmethod
    def put(
        self,
        tenant: str,
        data: bytes,
        *,
        purpose: Purpose,
        item_ref: str,
        actor: str,
        case_id: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> EvidenceRecord: ...

    @abstractmethod
    def read(self, tenant: str, evidence_id: str, *, actor: str, role: str) -> bytes:
        """Decrypt and return the content; audited; ``EvidenceError`` if the role may not
        read content, the blob was destroyed, or it fails authentication (tampered)."""

    @abstractmethod
    def record(self, tenant: str, evidence_id: str) -> EvidenceRecord: ...

    @abstractmethod
    def list(
        self, tenant: str, *, case_id: int | None = None, include_destroyed: bool = False
    ) -> builtins.list[EvidenceRecord]: ...

    @abstractmethod
    def promote(
        self, tenant: str, evidence_id: str, *, actor: str, now: datetime
    ) -> EvidenceRecord:
        """``review`` → ``report``: the retention clock restarts at ``now`` (the report)."""

    @abstractmethod
    def hold(self, tenant: str, evidence_id: str, *, actor: str, reason: str) -> EvidenceRecord: ...

    @abstractmethod
    def release(
        self, tenant: str, evidence_id: str, *, actor: str, reason: str
    ) -> EvidenceRecord: ...

    @abstractmethod
    def destroy(self, tenant: str, evidence_id: str, *, actor: str, reason: str) -> EvidenceRecord:
        """Destroy now (law enforcement request, no violation); refused under a hold."""

    @abstractmethod
    def purge_expired(self, now: datetime, *, actor: str = "system:retention") -> int:
        """Destroy everything past ``expires_at`` and not on hold; the number destroyed."""
