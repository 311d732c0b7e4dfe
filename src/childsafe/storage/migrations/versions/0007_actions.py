"""webhook outbox and confirmed-hash ledger.

``action_outbox`` rows change state (pending → delivered or dead, and back to pending on an
operator's retry) but are never deleted by childsafe: they are the record of what the
platform was asked to do. ``action_hashes`` records which case contributed each confirmed
hash to the re-upload bank.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "action_outbox",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("case_id", sa.BigInteger),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("locked_until", _TS),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", _TS),
        sa.Column("dead_at", _TS),
        sa.UniqueConstraint("event_id", name="uq_action_outbox_event"),
    )
    op.create_index("ix_action_outbox_due", "action_outbox", ["state", "next_attempt_at"])
    op.create_index("ix_action_outbox_tenant", "action_outbox", ["tenant", "id"])
    op.create_table(
        "action_hashes",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("bank", sa.String(200), nullable=False),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("decision_id", sa.BigInteger, nullable=False),
        sa.Column("hash_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("released_at", _TS),
        sa.UniqueConstraint(
            "tenant", "bank", "case_id", "hash_type", "value", name="uq_action_hashes_case_hash"
        ),
    )
    op.create_index(
        "ix_action_hashes_hash", "action_hashes", ["tenant", "bank", "hash_type", "value"]
    )
    op.create_index("ix_action_hashes_added", "action_hashes", ["tenant", "added_at"])


def downgrade() -> None:
    op.drop_table("action_hashes")
    op.drop_table("action_outbox")
