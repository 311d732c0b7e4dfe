"""Storage implementations (a leaf layer: the domain never imports it).

``open_store(url)`` returns a :class:`SqlBankStore` on SQLite (the embedded default) or
PostgreSQL (``postgresql://`` or ``postgresql+psycopg://``), with the schema migrated to the
newest Alembic revision, so a fresh file or an empty schema just works. The store is also
the way to the service's stores, all on the same engine:

* ``store.for_tenant(name)``: the banks of one tenant (the store itself is the tenant
  ``settings.default_tenant``, which is what the CLI uses);
* ``store.access``: tenants and API keys (:class:`SqlAccessStore`, keyed with
  ``settings.secret_key``);
* ``store.decisions``: the append-only decision log (:class:`SqlDecisionLog`);
* ``store.policies``: versioned policies per tenant (:class:`SqlPolicyStore`).
"""

from __future__ import annotations

from childsafe.config import Settings
from childsafe.storage.access import SqlAccessStore
from childsafe.storage.decisions import SqlDecisionLog
from childsafe.storage.engine import make_engine, upgrade_schema
from childsafe.storage.policies import SqlPolicyStore
from childsafe.storage.sql import SqlBankStore

__all__ = ["SqlAccessStore", "SqlBankStore", "SqlDecisionLog", "SqlPolicyStore", "open_store"]


def open_store(
    url: str, *, schema: str | None = None, settings: Settings | None = None
) -> SqlBankStore:
    """Open (and migrate) the store at ``url``; ``schema`` selects a PostgreSQL schema.

    ``settings`` (read from the environment when not given) supplies the default tenant and
    the secret key API keys are hashed with.
    """
    settings = settings if settings is not None else Settings()
    engine = make_engine(url, schema=schema)
    try:
        upgrade_schema(engine)
        return SqlBankStore(engine, tenant=settings.default_tenant, secret_key=settings.secret_key)
    except Exception:
        engine.dispose()
        raise
