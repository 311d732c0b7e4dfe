"""Authentication (401), scopes (403), per-key rate limits (429) over the real access store."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.web.helpers import BENIGN, KeyMaker, error_of

from childsafe.storage import SqlBankStore
from childsafe.tenancy.base import Scope


def test_missing_and_invalid_keys_get_401_with_www_authenticate(
    api: TestClient, keys: KeyMaker
) -> None:
    good = keys("acme", Scope.SCREEN)
    token = good["Authorization"].removeprefix("Bearer ")
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer cs_00000000_" + "A" * 43},
        {"Authorization": "Bearer " + token[:-1] + ("B" if token[-1] != "B" else "C")},
    ):
        r = api.post("/v1/screen/text", json={"text": BENIGN}, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert error_of(r)["code"] == "unauthorized"
        assert token not in r.text


def test_revoked_keys_and_deleted_tenants_are_refused(api: TestClient, store: SqlBankStore) -> None:
    store.access.create_tenant("acme")
    info, token = store.access.create_key("acme", frozenset({Scope.SCREEN}))
    h = {"Authorization": f"Bearer {token}"}
    assert api.post("/v1/screen/text", json={"text": BENIGN}, headers=h).status_code == 200
    assert store.access.revoke_key("acme", info.key_id)
    assert api.post("/v1/screen/text", json={"text": BENIGN}, headers=h).status_code == 401


def test_admin_implies_every_scope(api: TestClient, keys: KeyMaker) -> None:
    h = keys("acme", Scope.ADMIN)
    assert api.post("/v1/screen/text", json={"text": BENIGN}, headers=h).status_code == 200
    assert api.post("/v1/banks", json={"name": "b"}, headers=h).status_code == 201
    assert api.get("/v1/banks", headers=h).status_code == 200
    assert api.get("/v1/decisions", headers=h).status_code == 200


def test_rate_limit_is_per_key_with_retry_after(
    make_app: Callable[..., TestClient], keys: KeyMaker
) -> None:
    api = make_app(rate_limit_per_minute=3)
    first, second = keys("acme", Scope.BANKS_READ), keys("acme", Scope.BANKS_READ)
    codes = [api.get("/v1/banks", headers=first).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get("/v1/banks", headers=first)
    assert r.status_code == 429 and error_of(r)["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 20  # 3 per minute: one token per 20 s
    assert api.get("/v1/banks", headers=second).status_code == 200  # another key's bucket


def test_health_needs_no_key(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    r = api.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
