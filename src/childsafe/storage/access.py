"""``SqlAccessStore``: tenants and API keys in SQL.

A token is ``cs_<prefix>_<secret>``: ``prefix`` is 8 hex characters (32 random bits) that
find the key with one indexed look-up and name it in lists and logs; ``secret`` is 32 random
bytes from :mod:`secrets` (43 URL-safe base64 characters). Only HMAC-SHA-256 of the whole
token, keyed with ``Settings.secret_key``, is stored: a 256-bit random token needs no slow
password hash (nothing to brute-force), and a database dump without the deployment secret
cannot even confirm a guessed token. Changing ``secret_key`` therefore invalidates every key.

``verify`` is on every request's path, so it is one SELECT (key joined with its live
tenant) and no write: ``last_used_at`` is written at most once a minute per key, checked
first against an in-process memo and then by the UPDATE's own condition, so several
service processes do not each write it either.

Tenants are deleted softly (``deleted_at``): their decision log must outlive them, and a
deleted name is never given to a new tenant, which would otherwise inherit its banks and
history. Keys of a deleted tenant are revoked with it, and ``verify`` also refuses any key
whose tenant is not live.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from childsafe.storage._common import check_tenant, utc
from childsafe.storage.errors import InvalidValue, NotFound, TenantExists
from childsafe.storage.models import api_keys, tenants
from childsafe.tenancy.base import AccessStore, ApiKeyInfo, Principal, Scope, Tenant

TOKEN = re.compile(r"cs_([0-9a-f]{8})_([A-Za-z0-9_-]{32,128})")
TOUCH_EVERY = timedelta(seconds=60)
_PREFIX_TRIES = 8  # a 32-bit prefix collides rarely; each retry draws a new one


def normalise_scopes(scopes: Iterable[Scope | str]) -> frozenset[Scope]:
    """Scopes as the enum, refusing unknown names and an empty set (a key that can do
    nothing is a mistake, not a feature)."""
    out: set[Scope] = set()
    for s in scopes:
        try:
            out.add(Scope(s))
        except ValueError:
            allowed = ", ".join(x.value for x in Scope)
            raise InvalidValue(f"unknown scope {s!r}: want one of {allowed}") from None
    if not out:
        raise InvalidValue("a key needs at least one scope")
    return frozenset(out)


def _scopes_text(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(s.value for s in scopes))


def _scopes_of(text: str) -> frozenset[Scope]:
    known = {s.value for s in Scope}
    return frozenset(Scope(s) for s in text.split() if s in known)


class SqlAccessStore(AccessStore):
    """Tenants and API keys; see the module docstring for the token scheme."""

    def __init__(self, engine: Engine, secret_key: str) -> None:
        if not secret_key:
            raise InvalidValue("an empty secret key cannot protect API keys")
        self.engine = engine
        self._secret = secret_key.encode()
        self._touched: dict[str, float] = {}  # key id -> time.monotonic() of the last write

    def _digest(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    # tenants -------------------------------------------------------------------------------

    def create_tenant(self, name: str, display_name: str | None = None) -> Tenant:
        check_tenant(name)
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(tenants).values(name=name, display_name=display_name, created_at=now)
                )
        except IntegrityError:
            raise TenantExists(
                f"tenant {name!r} exists or existed (names are not reused)"
            ) from None
        return Tenant(name, now, display_name)

    def get_tenant(self, name: str) -> Tenant | None:
        """The live tenant of that name, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tenants).where(tenants.c.name == name, tenants.c.deleted_at.is_(None))
            ).first()
        return None if row is None else Tenant(row.name, utc(row.created_at), row.display_name)

    def list_tenants(self) -> list[Tenant]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tenants).where(tenants.c.deleted_at.is_(None)).order_by(tenants.c.name)
            ).all()
        return [Tenant(r.name, utc(r.created_at), r.display_name) for r in rows]

    def delete_tenant(self, name: str) -> bool:
        """Mark a tenant deleted and revoke its keys; False if there was no live one.

        Its banks, policies and decision log stay (the log is evidence); nothing can reach
        them through a key any more.
        """
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(tenants)
                .where(tenants.c.name == name, tenants.c.deleted_at.is_(None))
                .values(deleted_at=now)
            ).rowcount
            conn.execute(
                update(api_keys)
                .where(api_keys.c.tenant == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(done)

    # keys ----------------------------------------------------------------------------------

    def create_key(
        self, tenant: str, scopes: frozenset[Scope], name: str | None = None
    ) -> tuple[ApiKeyInfo, str]:
        scopes = normalise_scopes(scopes)
        if self.get_tenant(tenant) is None:
            raise NotFound(f"no tenant named {tenant!r}")
        now = datetime.now(UTC)
        for _ in range(_PREFIX_TRIES):
            prefix = secrets.token_hex(4)
            token = f"cs_{prefix}_{secrets.token_urlsafe(32)}"
            key_id = uuid.uuid4().hex
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(api_keys).values(
                            id=key_id,
                            tenant=tenant,
                            prefix=prefix,
                            digest=self._digest(token),
                            scopes=_scopes_text(scopes),
                            name=name,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                # A prefix taken, or the tenant deleted meanwhile (its foreign key holds):
                # the next round tells them apart.
                if self.get_tenant(tenant) is None:
                    raise NotFound(f"no tenant named {tenant!r}") from None
                continue
            return ApiKeyInfo(key_id, tenant, prefix, scopes, now, name), token
        raise InvalidValue(f"no free key prefix after {_PREFIX_TRIES} tries")  # pragma: no cover

    def verify(self, token: str) -> Principal | None:
        m = TOKEN.fullmatch(token) if isinstance(token, str) else None
        if m is None:
            return None
        digest = self._digest(token)
        k = api_keys.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(k.id, k.tenant, k.digest, k.scopes, k.revoked_at, k.last_used_at)
                .join(tenants, tenants.c.name == k.tenant)
                .where(k.prefix == m.group(1), tenants.c.deleted_at.is_(None))
            ).first()
        if row is None or not hmac.compare_digest(row.digest, digest):
            return None
        if row.revoked_at is not None:
            return None
        self._touch(row.id, row.last_used_at)
        return Principal(row.tenant, row.id, _scopes_of(row.scopes))

    def _touch(self, key_id: str, last_used: datetime | None) -> None:
        mono = time.monotonic()
        seen = self._touched.get(key_id)
        if seen is not None and mono - seen < TOUCH_EVERY.total_seconds():
            return
        now = datetime.now(UTC)
        if last_used is not None and now - utc(last_used) < TOUCH_EVERY:
            self._touched[key_id] = mono - (now - utc(last_used)).total_seconds()
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    or_(
                        api_keys.c.last_used_at.is_(None),
                        api_keys.c.last_used_at < now - TOUCH_EVERY,
                    ),
                )
                .values(last_used_at=now)
            )
        self._touched[key_id] = mono

    def revoke_key(self, tenant: str, key_id: str) -> bool:
        """Revoke a key of ``tenant`` named by its id or its prefix; False if none was live."""
        k = api_keys.c
        with self.engine.begin() as conn:
            n = conn.execute(
                update(api_keys)
                .where(k.tenant == tenant, or_(k.id == key_id, k.prefix == key_id))
                .where(k.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            ).rowcount
        return bool(n)

    def list_keys(self, tenant: str) -> list[ApiKeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(api_keys)
                .where(api_keys.c.tenant == tenant)
                .order_by(api_keys.c.created_at, api_keys.c.id)
            ).all()
        return [_key_info(r) for r in rows]


def _key_info(r: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=r.id,
        tenant=r.tenant,
        prefix=r.prefix,
        scopes=_scopes_of(r.scopes),
        created_at=utc(r.created_at),
        name=r.name,
        revoked_at=utc(r.revoked_at) if r.revoked_at else None,
        last_used_at=utc(r.last_used_at) if r.last_used_at else None,
    )
