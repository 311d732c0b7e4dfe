"""Banks, entries (with tombstones), the version log and allow-lists.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _bank_fk() -> sa.Column[int]:
    return sa.Column(
        "bank_id", sa.Integer, sa.ForeignKey("banks.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("pdq_radius", sa.Integer, nullable=False),
        sa.Column("pdq_quality_floor", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("id", _ID, sa.Identity(cache=1000), primary_key=True),
        _bank_fk(),
        sa.Column("hash_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("external_id", sa.Text),
        sa.Column("member", sa.Text),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("added_version", sa.Integer, nullable=False),
        sa.Column("first_added_version", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("removed_at", _TS),
        sa.Column("removed_version", sa.Integer),
        sa.UniqueConstraint("bank_id", "hash_type", "value", name="uq_entries_bank_hash"),
    )
    op.create_index("ix_entries_bank_added", "entries", ["bank_id", "added_version"])
    removed = sa.text("removed_version IS NOT NULL")
    op.create_index(
        "ix_entries_bank_removed",
        "entries",
        ["bank_id", "removed_version"],
        sqlite_where=removed,
        postgresql_where=removed,
    )
    op.create_table(
        "bank_versions",
        sa.Column("id", _ID, primary_key=True),
        _bank_fk(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
    )
    op.create_index("ix_bank_versions_bank", "bank_versions", ["bank_id", "version"])
    op.create_table(
        "allowlist",
        sa.Column("id", _ID, primary_key=True),
        _bank_fk(),
        sa.Column("hash_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.UniqueConstraint("bank_id", "hash_type", "value", name="uq_allowlist_bank_hash"),
    )


def downgrade() -> None:
    op.drop_table("allowlist")
    op.drop_table("bank_versions")
    op.drop_index("ix_entries_bank_removed", table_name="entries")
    op.drop_index("ix_entries_bank_added", table_name="entries")
    op.drop_table("entries")
    op.drop_table("banks")
