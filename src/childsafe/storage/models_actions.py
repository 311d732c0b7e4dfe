"""Tables of the webhook outbox and the confirmed-hash ledger; migration 0007 defines the same.

``action_outbox`` holds every action event until it is delivered or dead-lettered, and
keeps it afterwards (delivered and dead rows are the record of what the platform was told).
``event_id`` is unique: it is the idempotency key, so enqueuing the same event twice (a
retried transaction) makes one row. ``locked_until`` is a dispatcher's lease on a row.

``action_hashes`` is the ledger of confirmed hashes per (tenant, bank, case, hash): which
decision contributed a hash to the re-upload bank, and when a granted appeal released it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from childsafe.storage.models import BigId, metadata

__all__ = ["action_hashes", "action_outbox", "metadata"]

action_outbox = Table(
    "action_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", String(128), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("case_id", BigInteger),
    Column("subject_kind", String(32), nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("dead_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", name="uq_action_outbox_event"),
    Index("ix_action_outbox_due", "state", "next_attempt_at"),
    Index("ix_action_outbox_tenant", "tenant", "id"),
)

action_hashes = Table(
    "action_hashes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("bank", String(200), nullable=False),
    Column("case_id", BigInteger, nullable=False),
    Column("decision_id", BigInteger, nullable=False),
    Column("hash_type", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("label", Text),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    UniqueConstraint(
        "tenant", "bank", "case_id", "hash_type", "value", name="uq_action_hashes_case_hash"
    ),
    Index("ix_action_hashes_hash", "tenant", "bank", "hash_type", "value"),
    Index("ix_action_hashes_added", "tenant", "added_at"),
)
