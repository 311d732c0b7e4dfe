"""audit log (hash-chained) and evidence store.

``audit_log`` is append-only in the database: triggers refuse UPDATE and DELETE, as for the
decision log (0003). ``audit_head`` starts at seq 0 with the genesis hash. ``evidence`` rows
may change (hold, promotion, destruction nulls the ciphertext) but are never deleted: the
tombstone is the record that something was kept and destroyed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_GENESIS = "0" * 64

_PG_AUDIT_GUARD = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$
"""
_PG_EVIDENCE_GUARD = """
CREATE FUNCTION evidence_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence rows are kept as tombstones (DELETE refused)';
END $$
"""


def _guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log"
                " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
        op.execute(
            "CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence"
            " BEGIN SELECT RAISE(ABORT, 'evidence rows are kept as tombstones'); END"
        )
        return
    op.execute(_PG_AUDIT_GUARD)
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(_PG_EVIDENCE_GUARD)
    op.execute(
        "CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence"
        " FOR EACH ROW EXECUTE FUNCTION evidence_no_delete()"
    )


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_tenant_seq", "audit_log", ["tenant", "seq"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id", "seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": _GENESIS}])
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("case_id", sa.BigInteger),
        sa.Column("item_ref", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("stored_at", _TS, nullable=False),
        sa.Column("promoted_at", _TS),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        sa.Column("hold_reason", sa.Text),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary),
        sa.Column("ciphertext", sa.LargeBinary),
        sa.Column("destroyed_at", _TS),
        sa.Column("destroyed_reason", sa.Text),
        sa.Column("destroyed_by", sa.Text),
    )
    op.create_index("ix_evidence_tenant_case", "evidence", ["tenant", "case_id"])
    op.create_index("ix_evidence_expires", "evidence", ["expires_at"])
    _guards()


def downgrade() -> None:
    op.drop_table("evidence")  # triggers go with their tables
    op.drop_table("audit_head")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION evidence_no_delete()")
        op.execute("DROP FUNCTION audit_log_append_only()")
