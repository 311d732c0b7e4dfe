"""Tenants isolate banks, policies and decision logs; API keys carry scopes.

A moderation vendor serves many clients from one deployment, so every stored thing the
service touches belongs to exactly one tenant, and a key of one tenant can never read or
write another's. Keys are random tokens shown once at creation; only an HMAC-SHA-256 of the
token (keyed with the deployment secret) is stored, because a high-entropy token needs no
slow password hash and lookups must stay fast at hundreds of requests per second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do. ``admin`` implies every other scope within its tenant."""

    SCREEN = "screen"
    BANKS_READ = "banks:read"
    BANKS_WRITE = "banks:write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str  # a slug: lowercase letters, digits, '-' and '_'
    created_at: datetime
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A stored key, without its secret: ``prefix`` identifies it in lists and logs."""

    key_id: str
    tenant: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    name: str | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, once its key checked out."""

    tenant: str
    key_id: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


class AccessStore(ABC):
    """Tenants and API keys, persisted (``storage/`` implements it)."""

    @abstractmethod
    def create_tenant(self, name: str, display_name: str | None = None) -> Tenant: ...

    @abstractmethod
    def list_tenants(self) -> Sequence[Tenant]: ...

    @abstractmethod
    def create_key(
        self, tenant: str, scopes: frozenset[Scope], name: str | None = None
    ) -> tuple[ApiKeyInfo, str]:
        """A new key and its secret token (``cs_<prefix>_<secret>``), shown only this once."""

    @abstractmethod
    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None otherwise (constant-time compare)."""

    @abstractmethod
    def revoke_key(self, tenant: str, key_id: str) -> bool: ...

    @abstractmethod
    def list_keys(self, tenant: str) -> Sequence[ApiKeyInfo]: ...
