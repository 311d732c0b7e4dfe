"""Errors of the service's stores (tenants, keys, decision log, policies).

They subclass ``ChildsafeError`` (so the CLI prints them as one line) and ``ValueError`` or
``LookupError`` (so the web layer can map them to 400 and 404 without knowing each one).
Messages name the tenant, key or version they are about and never contain a secret.
"""

from __future__ import annotations

from childsafe.errors import ChildsafeError


class StoreError(ChildsafeError):
    """A request the service's stores refuse."""


class InvalidValue(StoreError, ValueError):
    """A malformed tenant name, scope, policy document or decision entry."""


class TenantExists(StoreError, ValueError):
    """A tenant of that name exists, or existed: names are never reused."""


class NotFound(StoreError, LookupError):
    """No live tenant, key or policy version of that name within the tenant."""
