"""Tables of the review workflow (cases, items, decisions, reveals, appeals, reviewers).

Migration 0005 defines the same tables; ``tests/storage/test_store.py`` checks they agree.

* **One open case per subject** is a unique constraint, not a convention: ``open_key`` is the
  SHA-256 of (subject kind, subject id) while the case is open and NULL once it is not, and
  (``tenant``, ``open_key``) is unique. NULLs never collide on SQLite or PostgreSQL, so closed
  cases pile up freely while two concurrent intakes for one subject cannot both open one
  (a partial unique index would do the same, but Alembic compares those poorly).
* **Items are unique per (tenant, dedupe_key)**, which makes intake idempotent.
* ``review_decisions`` and ``reveals`` are append-only (triggers in 0005 refuse UPDATE and
  DELETE): what a reviewer decided and which files were shown to whom are facts, and the
  ``fileViewedByEsp`` of a CyberTipline report is read from ``reveals`` alone.
* Reviewer passwords are stored as ``scrypt$n$r$p$salt$hash`` (hex), never in clear.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from childsafe.storage.models import BigId, metadata

__all__ = [
    "appeals",
    "case_items",
    "cases",
    "metadata",
    "reveals",
    "review_decisions",
    "reviewers",
]

_TS = DateTime(timezone=True)

reviewers = Table(
    "reviewers",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("daily_reveal_limit", Integer, nullable=False),
    Column("metadata_only", Boolean, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("disabled_at", _TS),
)

cases = Table(
    "cases",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("open_key", String(64)),
    Column("state", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("due_at", _TS, nullable=False),
    Column("assignee", String(64)),
    Column("first_reviewer", String(64)),
    Column("sources", JSON, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("first_decision_at", _TS),
    Column("actioned_at", _TS),
    Column("closed_at", _TS),
    UniqueConstraint("tenant", "open_key", name="uq_cases_open_subject"),
    Index("ix_cases_queue", "tenant", "state", "priority", "due_at"),
    Index("ix_cases_subject", "tenant", "subject_kind", "subject_id"),
)

case_items = Table(
    "case_items",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("case_id", BigId, ForeignKey("cases.id"), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("dedupe_key", String(200)),
    Column("item_ref", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("hashes", JSON, nullable=False),
    Column("matches", JSON, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("provenance", JSON, nullable=False),
    Column("generative_ai", Boolean, nullable=False),
    Column("added_at", _TS, nullable=False),
    Column("occurred_at", _TS),
    Column("evidence_id", String(32)),
    UniqueConstraint("tenant", "dedupe_key", name="uq_case_items_dedupe"),
    Index("ix_case_items_case", "case_id"),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", BigId, ForeignKey("cases.id"), nullable=False),
    Column("item_id", BigId, ForeignKey("case_items.id")),
    Column("reviewer", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("industry_class", String(2)),
    Column("generative_ai", Boolean, nullable=False),
    Column("second_review", Boolean, nullable=False),
    Column("note", Text),
    Column("at", _TS, nullable=False),
    Index("ix_review_decisions_case", "case_id", "id"),
)

reveals = Table(
    "reveals",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", BigId, ForeignKey("cases.id"), nullable=False),
    Column("item_id", BigId, ForeignKey("case_items.id"), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("what", String(8), nullable=False),
    Column("at", _TS, nullable=False),
    Index("ix_reveals_item", "item_id", "id"),
    Index("ix_reveals_reviewer_at", "tenant", "reviewer", "at"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", BigId, ForeignKey("cases.id"), nullable=False),
    Column("prior_state", String(16), nullable=False),
    Column("filed_at", _TS, nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("statement", Text),
    Column("outcome", String(16)),
    Column("decided_by", String(64)),
    Column("decided_at", _TS),
    Column("note", Text),
    Index("ix_appeals_case", "case_id", "id"),
)
