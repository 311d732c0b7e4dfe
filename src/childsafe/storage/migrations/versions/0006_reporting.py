"""hotline reports and their files.

A live report (state other than ``retracted``) is unique per (tenant, case, destination,
environment): a partial unique index, on SQLite and PostgreSQL alike, so no code path can
open a second live report for a case. Rows are updated as filing moves forward (they are a
state machine, not a log); every change is also an audit-log entry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_LIVE = sa.text("state != 'retracted'")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String(128)),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("submitted_at", _TS),
        sa.Column("finish_attempted_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("retracted_at", _TS),
        sa.Column("last_error", sa.Text),
        sa.Column("export_path", sa.Text),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", _TS),
    )
    op.create_index(
        "uq_reports_live",
        "reports",
        ["tenant", "case_id", "destination", "environment"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    op.create_index("ix_reports_tenant_created", "reports", ["tenant", "created_at"])
    op.create_table(
        "report_files",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "report_id",
            sa.BigInteger,
            sa.ForeignKey("reports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("item_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("evidence_id", sa.String(64)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("remote_file_id", sa.String(128)),
        sa.Column("remote_md5", sa.String(32)),
        sa.Column("uploaded_at", _TS),
        sa.Column("details_sent_at", _TS),
        sa.UniqueConstraint("report_id", "seq", name="uq_report_files_seq"),
    )


def downgrade() -> None:
    op.drop_table("report_files")
    op.drop_index("ix_reports_tenant_created", table_name="reports")
    op.drop_index("uq_reports_live", table_name="reports")
    op.drop_table("reports")
