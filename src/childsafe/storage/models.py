"""SQLAlchemy Core tables: banks, entries, version log, allow-lists, and the service's tables.

Core rather than ORM because bulk import is the hot path: a million rows go through a temp
table and one ``INSERT ... SELECT``, never through an identity map. The Alembic migrations
define the same schema on their own (migrations must not change when this module does);
``tests/storage`` checks the two agree.

Entries are never deleted by an import, only tombstoned (``deleted``, ``removed_version``),
so :meth:`~childsafe.banks.base.BankStore.changes_since` can report removals to an index
built at an older version. ``first_added_version`` survives a revive (a tombstoned hash
added again): together with ``removed_version``, which a revive keeps, it tells whether an
entry may have been in an index built at version v.

The service's tables (migration 0003): ``tenants``, ``api_keys`` (HMACs of tokens, never
tokens), ``decisions`` (the append-only decision log: hashes and verdicts, never content),
``policies`` and ``policy_activations`` (versions only grow; which one is active is the
newest activation, so every change of the active policy is a row an auditor can read).
Banks belong to a tenant; a bank name is unique within its tenant only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only aliases ROWID (fast, implicit autoincrement) for a plain INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

banks = Table(
    "banks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant", String(64), nullable=False, server_default="default"),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("description", Text, nullable=False, default=""),
    Column("pdq_radius", Integer, nullable=False, default=31),
    Column("pdq_quality_floor", Integer, nullable=False, default=50),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "name", name="uq_banks_tenant_name"),
)

entries = Table(
    "entries",
    metadata,
    # A cached identity: PostgreSQL's nextval per row was a third of bulk insert time.
    Column("id", BigId, Identity(cache=1000), primary_key=True),
    # No foreign key: PostgreSQL checks one with a trigger call per inserted row, most of a
    # bulk import's time. SqlBankStore.delete_bank deletes a bank's entries itself.
    Column("bank_id", Integer, nullable=False),
    Column("hash_type", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("label", Text),
    Column("source", Text),
    Column("external_id", Text),
    Column("member", Text),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_version", Integer, nullable=False),
    Column("first_added_version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("removed_at", DateTime(timezone=True)),
    Column("removed_version", Integer),
    UniqueConstraint("bank_id", "hash_type", "value", name="uq_entries_bank_hash"),
    Index("ix_entries_bank_added", "bank_id", "added_version"),
    # Tombstones are few: a partial index keeps removal look-ups cheap without slowing imports.
    Index(
        "ix_entries_bank_removed",
        "bank_id",
        "removed_version",
        sqlite_where=Column("removed_version").isnot(None),
        postgresql_where=Column("removed_version").isnot(None),
    ),
)

bank_versions = Table(
    "bank_versions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("op", String(16), nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("added", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("removed", Integer, nullable=False, default=0),
    Index("ix_bank_versions_bank", "bank_id", "version"),
)

allowlist = Table(
    "allowlist",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("hash_type", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("added_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("bank_id", "hash_type", "value", name="uq_allowlist_bank_hash"),
)

# The service (migration 0003) ----------------------------------------------------------------

tenants = Table(
    "tenants",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Soft delete: the decision log must outlive a tenant, and a name is never reused.
    Column("deleted_at", DateTime(timezone=True)),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(64), ForeignKey("tenants.name"), nullable=False, index=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),  # hex HMAC-SHA-256(secret_key, token)
    Column("scopes", Text, nullable=False),  # sorted, distinct Scope values, space-separated
    Column("name", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("source", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("policy_name", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("pdq", String(64)),
    Column("subject", JSON, nullable=False),
    Column("match_summary", JSON, nullable=False),
    Column("score_summary", JSON, nullable=False),
    Column("create_case", Boolean, nullable=False),
    Column("note", Text),
    # Per tenant: a request id is the caller's, and one tenant must never be able to
    # make another's write a no-op by reusing its ids.
    UniqueConstraint("tenant", "request_id", "source", name="uq_decisions_request"),
    Index("ix_decisions_tenant_created", "tenant", "created_at"),
)

policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "version", name="uq_policies_tenant_version"),
)

policy_activations = Table(
    "policy_activations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False),
    Index("ix_policy_activations_tenant", "tenant", "id"),
)
