"""Tables of the hotline reports and their files; migration 0006 defines the same.

``reports``: one row per report attempt. A live report (any state but ``retracted``) is
unique per (tenant, case, destination, environment): a partial unique index, so the
database itself refuses a second live report for a case whatever the code does. A retracted
row stays (with the remote id it had) as the record of what was tried.
``report_files``: the files a report carries (item, evidence id, size, our MD5 and SHA-256)
and how far each got (NCMEC's file id and MD5, details sent). Ids and hashes only: content
stays in the encrypted evidence store.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from childsafe.storage.models import BigId, metadata

__all__ = ["metadata", "report_files", "reports"]

reports = Table(
    "reports",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", BigInteger, nullable=False),
    Column("destination", String(16), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("remote_id", String(128)),
    Column("file_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("finish_attempted_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("retracted_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("export_path", Text),
    Column("lease_owner", String(200)),
    Column("lease_until", DateTime(timezone=True)),
    Index(
        "uq_reports_live",
        "tenant",
        "case_id",
        "destination",
        "environment",
        unique=True,
        sqlite_where=text("state != 'retracted'"),
        postgresql_where=text("state != 'retracted'"),
    ),
    Index("ix_reports_tenant_created", "tenant", "created_at"),
)

report_files = Table(
    "report_files",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("report_id", BigInteger, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("item_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("evidence_id", String(64)),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("remote_file_id", String(128)),
    Column("remote_md5", String(32)),
    Column("uploaded_at", DateTime(timezone=True)),
    Column("details_sent_at", DateTime(timezone=True)),
    UniqueConstraint("report_id", "seq", name="uq_report_files_seq"),
)
