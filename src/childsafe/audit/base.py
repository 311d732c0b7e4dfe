"""Audit events and the hash chain that makes the log tamper-evident.

Every state change in review, evidence and reporting is an :class:`AuditEvent`: who
(``actor``), did what (``action``, a dotted verb such as ``case.claim``, ``item.reveal_file``,
``report.finish``), to what (``target_type``/``target_id``), with ``details`` (ids, codes,
counts: never content, never a password or key). The log assigns each event a sequence
number and a timestamp and chains it: ``hash = sha256(prev_hash + canonical(entry))``. An
auditor runs ``childsafe audit verify``: a changed, removed or reordered entry breaks the
chain at that sequence number.

Why one chain per database rather than one per tenant: an operator who can edit rows could
otherwise truncate one tenant's chain without touching the others'; with one chain, every
tenant's entries vouch for each other's. Tenants still only *read* their own entries.

The canonical form is JSON with sorted keys, no whitespace and ISO-8601 UTC timestamps, so
the chain verifies identically from SQLite and PostgreSQL rows.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened; the log adds sequence, time and chain hashes."""

    tenant: str
    actor: str  # "reviewer:alice", "api-key:ab12cd", "system:retention", "cli:root"
    action: str  # dotted verb: "case.create", "item.reveal_file", "evidence.destroy"
    target_type: str  # "case", "item", "evidence", "report", "appeal", "reviewer", ...
    target_id: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event as logged: ``seq`` is gap-free from 1; ``hash`` chains to ``prev_hash``."""

    seq: int
    at: datetime
    tenant: str
    actor: str
    action: str
    target_type: str
    target_id: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of verifying the chain: ``ok``, how many entries, where it first broke."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


def canonical(
    seq: int,
    at: datetime,
    event: AuditEvent,
) -> bytes:
    """The bytes an entry's hash covers (everything but the hashes themselves)."""
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    body = {
        "seq": seq,
        "at": stamp,
        "tenant": event.tenant,
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": dict(event.details),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(prev_hash: str, seq: int, at: datetime, event: AuditEvent) -> str:
    """``sha256(prev_hash || canonical(entry))`` as 64 hex characters."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(seq, at, event)).hexdigest()


class AuditLog(ABC):
    """Append-only, hash-chained. Implementations: ``storage.audit.SqlAuditLog``.

    The SQL implementation also offers ``append(event, conn=...)`` so a state change and
    its audit entry commit in one transaction (no change without its entry, ever).
    """

    @abstractmethod
    def append(self, event: AuditEvent) -> AuditEntry:
        """Log ``event`` durably and return it as chained."""

    @abstractmethod
    def entries(
        self,
        tenant: str | None = None,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> list[AuditEntry]:
        """Entries in sequence order, optionally one tenant's or one target's."""

    @abstractmethod
    def verify(self) -> ChainCheck:
        """Recompute the whole chain (streaming; memory stays flat)."""
