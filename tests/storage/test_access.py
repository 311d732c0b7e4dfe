"""Tenants and API keys: tokens shown once, stored as HMACs, verified, revoked, scoped."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from childsafe.errors import ConfigError
from childsafe.storage import SqlAccessStore, SqlBankStore
from childsafe.storage.access import TOKEN
from childsafe.storage.errors import InvalidValue, NotFound, TenantExists
from childsafe.storage.models import api_keys
from childsafe.tenancy.base import Scope

SCREEN = frozenset({Scope.SCREEN})


@pytest.fixture
def access(store: SqlBankStore) -> SqlAccessStore:
    return store.access


def test_tenants_are_created_listed_and_never_reused(access: SqlAccessStore) -> None:
    assert [t.name for t in access.list_tenants()] == ["default"]  # made by migration 0003
    t = access.create_tenant("acme", "Acme Corp")
    assert (t.name, t.display_name, t.created_at.tzinfo is not None) == ("acme", "Acme Corp", True)
    access.create_tenant("beta")
    assert [x.name for x in access.list_tenants()] == ["acme", "beta", "default"]
    with pytest.raises(TenantExists):
        access.create_tenant("acme")
    assert access.delete_tenant("beta") is True
    assert access.delete_tenant("beta") is False
    assert [x.name for x in access.list_tenants()] == ["acme", "default"]
    with pytest.raises(TenantExists, match="not reused"):
        access.create_tenant("beta")
    with pytest.raises(InvalidValue, match="bad tenant name"):
        access.create_tenant("Not A Slug")


def test_a_token_verifies_to_its_tenant_and_scopes(access: SqlAccessStore) -> None:
    access.create_tenant("acme")
    scopes = frozenset({Scope.SCREEN, Scope.BANKS_READ})
    info, token = access.create_key("acme", scopes, name="web")
    m = TOKEN.fullmatch(token)
    assert m is not None and m.group(1) == info.prefix
    assert len(m.group(2)) >= 43  # 32 random bytes, URL-safe base64
    p = access.verify(token)
    assert p is not None
    assert (p.tenant, p.key_id, p.scopes) == ("acme", info.key_id, scopes)
    assert p.allows(Scope.SCREEN) and not p.allows(Scope.BANKS_WRITE)
    listed = access.list_keys("acme")
    assert [(k.key_id, k.prefix, k.name, k.scopes) for k in listed] == [
        (info.key_id, info.prefix, "web", scopes)
    ]
    assert access.list_keys("default") == []


def test_only_an_hmac_of_the_token_is_stored(store: SqlBankStore) -> None:
    store.access.create_tenant("acme")
    info, token = store.access.create_key("acme", SCREEN)
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.id == info.key_id)).one()
    stored = " ".join(str(v) for v in row)
    assert token not in stored and token.split("_", 2)[2] not in stored
    # Keyed with the deployment secret (the fixture's store uses the default Settings).
    from childsafe.config import Settings

    key = Settings().secret_key.encode()
    assert row.digest == hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def test_a_different_secret_key_verifies_nothing(store: SqlBankStore) -> None:
    store.access.create_tenant("acme")
    _, token = store.access.create_key("acme", SCREEN)
    other = SqlAccessStore(store.engine, "another-deployment-secret")
    assert other.verify(token) is None
    assert store.access.verify(token) is not None


def test_wrong_malformed_and_forged_tokens_fail(access: SqlAccessStore) -> None:
    access.create_tenant("acme")
    info, token = access.create_key("acme", SCREEN)
    last = "A" if token[-1] != "A" else "B"
    forged = [
        token[:-1] + last,  # right prefix, wrong secret
        f"cs_{info.prefix}_" + "x" * 43,
        "cs_00000000_" + token[12:],  # unknown prefix
        token + "x",
        token.upper(),
        "",
        "Bearer " + token,
        "cs_" + "a" * 5000,
        "cs_\x00\x01_\xff",
    ]
    for bad in forged:
        assert access.verify(bad) is None, bad
    assert access.verify(None) is None  # type: ignore[arg-type]


def test_revoked_keys_fail_and_revoke_is_per_tenant(access: SqlAccessStore) -> None:
    access.create_tenant("acme")
    access.create_tenant("globex")
    info, token = access.create_key("acme", SCREEN)
    by_prefix, token2 = access.create_key("acme", SCREEN)
    assert access.revoke_key("globex", info.key_id) is False  # not globex's key
    assert access.verify(token) is not None
    assert access.revoke_key("acme", info.key_id) is True
    assert access.revoke_key("acme", info.key_id) is False  # already revoked
    assert access.verify(token) is None
    assert access.revoke_key("acme", by_prefix.prefix) is True  # the prefix works too
    assert access.verify(token2) is None
    assert all(k.revoked_at is not None for k in access.list_keys("acme"))


def test_keys_of_a_deleted_or_unknown_tenant_fail(store: SqlBankStore) -> None:
    access = store.access
    access.create_tenant("acme")
    _, token = access.create_key("acme", frozenset({Scope.ADMIN}))
    assert access.verify(token) is not None
    access.delete_tenant("acme")
    assert access.verify(token) is None
    assert all(k.revoked_at is not None for k in access.list_keys("acme"))
    with pytest.raises(NotFound, match="no tenant"):
        access.create_key("acme", SCREEN)
    with pytest.raises(NotFound, match="no tenant"):
        access.create_key("nobody", SCREEN)


def test_scopes_are_validated_and_stored_normalised(store: SqlBankStore) -> None:
    access = store.access
    access.create_tenant("acme")
    with pytest.raises(InvalidValue, match="unknown scope"):
        access.create_key("acme", frozenset({"banks:delete"}))  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="at least one scope"):
        access.create_key("acme", frozenset())
    mixed = frozenset({"banks:write", Scope.SCREEN, "banks:read"})
    info, token = access.create_key("acme", mixed)  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        text = conn.execute(select(api_keys.c.scopes).where(api_keys.c.id == info.key_id)).scalar()
    assert text == "banks:read banks:write screen"
    p = access.verify(token)
    assert p is not None and p.scopes == {Scope.BANKS_READ, Scope.BANKS_WRITE, Scope.SCREEN}


def _last_used(store: SqlBankStore, key_id: str) -> datetime | None:
    with store.engine.connect() as conn:
        value = conn.execute(
            select(api_keys.c.last_used_at).where(api_keys.c.id == key_id)
        ).scalar()
    return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)


def test_last_used_is_written_at_most_once_a_minute(store: SqlBankStore) -> None:
    access = store.access
    access.create_tenant("acme")
    info, token = access.create_key("acme", SCREEN)
    assert _last_used(store, info.key_id) is None
    writes: list[str] = []

    from sqlalchemy import event

    def count(_conn: object, _cur: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE api_keys SET last_used_at") and "IS NULL" in statement:
            writes.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for _ in range(50):
            assert access.verify(token) is not None
        assert len(writes) == 1
        first = _last_used(store, info.key_id)
        assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)
        # A fresh process (no memo) sees a recent last_used_at and does not write either.
        SqlAccessStore(store.engine, access._secret.decode()).verify(token)
        assert len(writes) == 1
        # Once it is older than a minute, the next verify writes it again.
        old = datetime.now(UTC) - timedelta(minutes=5)
        with store.engine.begin() as conn:
            conn.execute(update(api_keys).values(last_used_at=old))
        access._touched.clear()  # as if a minute had passed in this process too
        access.verify(token)
        assert len(writes) == 2
        again = _last_used(store, info.key_id)
        assert again is not None and again > old + timedelta(minutes=4)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_a_store_without_a_secret_has_no_access(store: SqlBankStore) -> None:
    bare = SqlBankStore(store.engine)
    with pytest.raises(ConfigError, match="secret key"):
        _ = bare.access
    with pytest.raises(InvalidValue):
        SqlAccessStore(store.engine, "")
