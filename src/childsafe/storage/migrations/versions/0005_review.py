"""cases, items, decisions, reveals, appeals, reviewers.

``review_decisions`` and ``reveals`` are append-only in the database: triggers refuse UPDATE
and DELETE, as for the decision log (0003) and the audit log (0004). One open case per
subject is the unique constraint ``uq_cases_open_subject`` on (tenant, open_key), where
``open_key`` is NULL once a case leaves the open states (see ``models_review``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_APPEND_ONLY = ("review_decisions", "reveals")

_PG_GUARD = """
CREATE FUNCTION review_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END $$
"""


def _guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    op.execute(_PG_GUARD)
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION review_append_only()"
        )


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("daily_reveal_limit", sa.Integer, nullable=False),
        sa.Column("metadata_only", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS),
    )
    op.create_table(
        "cases",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("open_key", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("first_reviewer", sa.String(64)),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("first_decision_at", _TS),
        sa.Column("actioned_at", _TS),
        sa.Column("closed_at", _TS),
        sa.UniqueConstraint("tenant", "open_key", name="uq_cases_open_subject"),
    )
    op.create_index("ix_cases_queue", "cases", ["tenant", "state", "priority", "due_at"])
    op.create_index("ix_cases_subject", "cases", ["tenant", "subject_kind", "subject_id"])
    op.create_table(
        "case_items",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("dedupe_key", sa.String(200)),
        sa.Column("item_ref", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("hashes", sa.JSON, nullable=False),
        sa.Column("matches", sa.JSON, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("generative_ai", sa.Boolean, nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("occurred_at", _TS),
        sa.Column("evidence_id", sa.String(32)),
        sa.UniqueConstraint("tenant", "dedupe_key", name="uq_case_items_dedupe"),
    )
    op.create_index("ix_case_items_case", "case_items", ["case_id"])
    op.create_table(
        "review_decisions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("item_id", _ID, sa.ForeignKey("case_items.id")),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("industry_class", sa.String(2)),
        sa.Column("generative_ai", sa.Boolean, nullable=False),
        sa.Column("second_review", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_review_decisions_case", "review_decisions", ["case_id", "id"])
    op.create_table(
        "reveals",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("item_id", _ID, sa.ForeignKey("case_items.id"), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("what", sa.String(8), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_reveals_item", "reveals", ["item_id", "id"])
    op.create_index("ix_reveals_reviewer_at", "reveals", ["tenant", "reviewer", "at"])
    op.create_table(
        "appeals",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("prior_state", sa.String(16), nullable=False),
        sa.Column("filed_at", _TS, nullable=False),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("statement", sa.Text),
        sa.Column("outcome", sa.String(16)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", _TS),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_appeals_case", "appeals", ["case_id", "id"])
    _guards()


def downgrade() -> None:
    for table in ("appeals", "reveals", "review_decisions", "case_items", "cases", "reviewers"):
        op.drop_table(table)  # triggers go with their tables
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION review_append_only()")
