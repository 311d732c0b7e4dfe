"""Drop the foreign key from entries.bank_id: bulk imports were paying for it per row.

PostgreSQL checks a foreign key with one trigger call per inserted row, which measured
4-7 s of a 9 s million-row ``COPY``. The store keeps the guarantee instead: every write
locks the bank row first and ``delete_bank`` deletes the entries in the same transaction
(the dropped key's ``ON DELETE CASCADE``). Existing entries all have their bank, since the
key held until now.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# 0001 left the key unnamed; batch mode (SQLite) reflects it under this name.
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _bank_fk_name() -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("entries"):
        if fk["referred_table"] == "banks" and fk["constrained_columns"] == ["bank_id"]:
            return fk["name"]
    return None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("entries", naming_convention=_CONVENTION) as batch:
            batch.drop_constraint("fk_entries_bank_id_banks", type_="foreignkey")
        return
    name = _bank_fk_name()
    if name is not None:
        op.drop_constraint(name, "entries", type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM entries WHERE bank_id NOT IN (SELECT id FROM banks)")
    with op.batch_alter_table("entries", naming_convention=_CONVENTION) as batch:
        batch.create_foreign_key(
            "fk_entries_bank_id_banks", "banks", ["bank_id"], ["id"], ondelete="CASCADE"
        )
