"""Tenants, API keys, the decision log, policies; banks belong to a tenant.

Existing banks go to the tenant ``default`` (a ``tenants`` row is made for it), and a bank
name becomes unique per tenant: two clients of one deployment may both call a bank
``known``. The decision log is append-only in the database too: triggers refuse UPDATE and
DELETE, so no code path (ours, a future one, an ad-hoc script) can rewrite what was decided.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
# 0001 left banks' unique constraint on name unnamed; batch mode (SQLite) reflects it so.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}

_PG_GUARD = """
CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the decision log is append-only (% refused)', TG_OP;
END $$
"""


def _name_unique() -> str | None:
    for uq in sa.inspect(op.get_bind()).get_unique_constraints("banks"):
        if uq["column_names"] == ["name"]:
            return uq["name"]
    return None


def _banks_tenant() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    column = sa.Column("tenant", sa.String(64), nullable=False, server_default="default")
    if sqlite:
        with op.batch_alter_table("banks", naming_convention=_CONVENTION) as batch:
            batch.add_column(column)
            batch.drop_constraint("uq_banks_name", type_="unique")
            batch.create_unique_constraint("uq_banks_tenant_name", ["tenant", "name"])
        return
    op.add_column("banks", column)
    name = _name_unique()
    if name is not None:
        op.drop_constraint(name, "banks", type_="unique")
    op.create_unique_constraint("uq_banks_tenant_name", "banks", ["tenant", "name"])


def _decision_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER decisions_no_{event.lower()} BEFORE {event} ON decisions"
                " BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END"
            )
        return
    op.execute(_PG_GUARD)
    op.execute(
        "CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions"
        " FOR EACH ROW EXECUTE FUNCTION decisions_append_only()"
    )


def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.Text),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS),
    )
    op.bulk_insert(tenants, [{"name": "default", "created_at": datetime.now(UTC)}])
    _banks_tenant()
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
        sa.Column("last_used_at", _TS),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_table(
        "decisions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("policy_name", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("pdq", sa.String(64)),
        sa.Column("subject", sa.JSON, nullable=False),
        sa.Column("match_summary", sa.JSON, nullable=False),
        sa.Column("score_summary", sa.JSON, nullable=False),
        sa.Column("create_case", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("tenant", "request_id", "source", name="uq_decisions_request"),
    )
    op.create_index("ix_decisions_tenant_created", "decisions", ["tenant", "created_at"])
    _decision_guards()
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant", "version", name="uq_policies_tenant_version"),
    )
    op.create_table(
        "policy_activations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("activated_at", _TS, nullable=False),
    )
    op.create_index("ix_policy_activations_tenant", "policy_activations", ["tenant", "id"])


def downgrade() -> None:
    """Back to 0002; fails (and changes nothing) if two tenants share a bank name."""
    op.drop_table("policy_activations")
    op.drop_table("policies")
    op.drop_table("decisions")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION decisions_append_only()")
    op.drop_table("api_keys")
    with op.batch_alter_table("banks") as batch:
        batch.drop_constraint("uq_banks_tenant_name", type_="unique")
        batch.create_unique_constraint("uq_banks_name", ["name"])
        batch.drop_column("tenant")
    op.drop_table("tenants")
