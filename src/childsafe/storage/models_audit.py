"""Tables of the audit log (hash-chained) and evidence store; migration 0004 defines the same.

``audit_log`` is append-only (migration 0004 adds triggers refusing UPDATE and DELETE) and
its ``seq`` is assigned by :class:`~childsafe.storage.audit.SqlAuditLog`, never by the
database: a sequence or identity skips numbers on a rolled-back transaction, and the chain
promises that a missing number means a removed entry.

``audit_head`` is one row (``id = 1``) holding the newest ``seq`` and ``hash``. Appends lock
it first, which serialises them on both databases, and ``verify`` compares the end of the
chain with it, so cutting entries off the *end* of the log (which no hash can reveal by
itself) is detected too.

``evidence`` keeps metadata beside the ciphertext; destruction sets ``ciphertext`` and
``nonce`` to NULL and keeps the row as a tombstone (a trigger refuses DELETE).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from childsafe.storage.models import BigId, metadata

__all__ = ["audit_head", "audit_log", "evidence", "metadata"]

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_tenant_seq", "tenant", "seq"),
    Index("ix_audit_log_target", "target_type", "target_id", "seq"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("case_id", BigInteger),
    Column("item_ref", Text, nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Column("promoted_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("legal_hold", Boolean, nullable=False),
    Column("hold_reason", Text),
    Column("key_id", String(32), nullable=False),
    Column("nonce", LargeBinary),
    Column("ciphertext", LargeBinary),
    Column("destroyed_at", DateTime(timezone=True)),
    Column("destroyed_reason", Text),
    Column("destroyed_by", Text),
    Index("ix_evidence_tenant_case", "tenant", "case_id"),
    Index("ix_evidence_expires", "expires_at"),
)
