"""``SqlPolicyStore``: versioned policy documents per tenant.

Versions only grow (1, 2, 3 … per tenant; unique on (tenant, version)) and a stored version
is never edited. Which version is active is the newest row of ``policy_activations``, so
"one active policy" holds by construction, and activating a version (an older one too, a
rollback) is itself a recorded, timestamped change.

Each write is a single ``INSERT ... SELECT`` that computes what it needs (the next version,
whether the version to activate exists) inside the statement: on SQLite a read followed by
a write in one transaction fails outright when another process wrote in between, and on
PostgreSQL ``put`` first takes a transaction-scoped advisory lock per tenant, so writers
queue instead of racing for the next number (the unique constraint, and a retry on meeting
it, stay as the backstop).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Row, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError

from childsafe.screening.base import PolicyStore, StoredPolicy
from childsafe.storage._common import check_tenant, utc
from childsafe.storage.errors import InvalidValue, NotFound
from childsafe.storage.models import policies, policy_activations

_TRIES = 10
_PG_LOCK = 0x706F6C  # advisory lock class of policy writes ("pol"); the tenant is the key


def _document(tenant: str, document: object) -> dict[str, Any]:
    """The document as it will read back: a JSON object, finite numbers only."""
    if not isinstance(document, dict):
        raise InvalidValue(f"policy of tenant {tenant!r}: the document must be a JSON object")
    try:
        out = json.loads(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"policy of tenant {tenant!r}: not JSON ({exc})") from None
    assert isinstance(out, dict)
    return out


class SqlPolicyStore(PolicyStore):
    """Policies; see the module docstring for versioning and activation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _active_version(self, tenant: str) -> Any:
        a = policy_activations.c
        return (
            select(a.version)
            .where(a.tenant == tenant)
            .order_by(a.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    def put(self, tenant: str, name: str, document: dict[str, Any], activate: bool = True) -> int:
        check_tenant(tenant)
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue(f"policy of tenant {tenant!r}: a policy needs a name")
        doc = _document(tenant, document)
        p = policies.c
        for _ in range(_TRIES):
            now = datetime.now(UTC)
            next_version = select(
                literal(tenant),
                func.coalesce(func.max(p.version), 0) + 1,
                literal(name),
                literal(doc, JSON),
                literal(now, DateTime(timezone=True)),
            ).where(p.tenant == tenant)
            stmt = (
                insert(policies)
                .from_select(["tenant", "version", "name", "document", "created_at"], next_version)
                .returning(p.version)
            )
            try:
                with self.engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k, hashtext(:t))"),
                            {"k": _PG_LOCK, "t": tenant},
                        )
                    version = int(conn.execute(stmt).scalar_one())
                    if activate:
                        conn.execute(
                            insert(policy_activations).values(
                                tenant=tenant, version=version, activated_at=now
                            )
                        )
            except IntegrityError:
                continue  # another put took this number: take the next one
            return version
        raise InvalidValue(f"policy of tenant {tenant!r}: too many concurrent writes")

    def active(self, tenant: str) -> StoredPolicy | None:
        p = policies.c
        q = select(policies).where(p.tenant == tenant, p.version == self._active_version(tenant))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else _stored(row, True)

    def history(self, tenant: str) -> list[StoredPolicy]:
        p = policies.c
        active = self._active_version(tenant)
        q = (
            select(policies, (p.version == active).label("is_active"))
            .where(p.tenant == tenant)
            .order_by(p.version.desc())
        )
        with self.engine.connect() as conn:
            return [_stored(r, bool(r.is_active)) for r in conn.execute(q)]

    def activate(self, tenant: str, version: int) -> None:
        p = policies.c
        exists = select(p.tenant, p.version, literal(datetime.now(UTC), DateTime(timezone=True)))
        stmt = (
            insert(policy_activations)
            .from_select(
                ["tenant", "version", "activated_at"],
                exists.where(p.tenant == tenant, p.version == version),
            )
            .returning(policy_activations.c.id)  # psycopg reports no rowcount for this
        )
        with self.engine.begin() as conn:
            if conn.execute(stmt).first() is None:
                raise NotFound(f"tenant {tenant!r} has no policy version {version}")

    def activations(self, tenant: str) -> list[tuple[int, datetime]]:
        """Every activation of the tenant (version, when), newest first: the audit trail."""
        a = policy_activations.c
        q = select(a.version, a.activated_at).where(a.tenant == tenant).order_by(a.id.desc())
        with self.engine.connect() as conn:
            return [(int(v), utc(at)) for v, at in conn.execute(q)]


def _stored(row: Row[Any], active: bool) -> StoredPolicy:
    return StoredPolicy(
        tenant=row.tenant,
        name=row.name,
        version=int(row.version),
        document=dict(row.document),
        created_at=utc(row.created_at),
        active=active,
    )
