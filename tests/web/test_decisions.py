"""``/v1/decisions`` and ``/v1/reports``: one tenant-scoped decision log, no content in it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.helpers import BENIGN, KeyMaker, error_of

from childsafe.storage import SqlBankStore
from childsafe.tenancy.base import Scope


def test_decisions_list_and_get(api: TestClient, keys: KeyMaker) -> None:
    admin = keys("acme", Scope.ADMIN)
    ids = [
        api.post("/v1/screen/text", json={"text": f"{BENIGN} {i}"}, headers=admin).json()[
            "request_id"
        ]
        for i in range(3)
    ]
    listed = api.get("/v1/decisions", params={"limit": 2}, headers=admin).json()["decisions"]
    assert [d["request_id"] for d in listed] == ids[:0:-1]  # newest first, limited
    one = api.get(f"/v1/decisions/{ids[0]}", headers=admin)
    assert one.status_code == 200
    d = one.json()
    assert d["decision"] == "allow" and d["source"] == "api" and d["kind"] == "prompt"
    assert "text_risk.minor" in d["scores"]
    assert BENIGN not in one.text
    filtered = api.get("/v1/decisions", params={"decision": "block"}, headers=admin).json()
    assert filtered["decisions"] == []


def test_decisions_need_admin_and_are_tenant_scoped(api: TestClient, keys: KeyMaker) -> None:
    screener = keys("acme", Scope.SCREEN)
    rid = api.post("/v1/screen/text", json={"text": BENIGN}, headers=screener).json()["request_id"]
    assert api.get("/v1/decisions", headers=screener).status_code == 403
    other_admin = keys("globex", Scope.ADMIN)
    r = api.get(f"/v1/decisions/{rid}", headers=other_admin)
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    assert api.get("/v1/decisions", headers=other_admin).json()["decisions"] == []
    assert api.get(f"/v1/decisions/{rid}", headers=keys("acme")).status_code == 200


def test_user_report_is_logged_for_review(
    api: TestClient, keys: KeyMaker, store: SqlBankStore
) -> None:
    h = keys("acme", Scope.SCREEN)
    body = {
        "subject": {"user_id": "u-9", "content_id": "post-1"},
        "reason_code": "grooming",
        "content_sha256": "ab" * 32,
        "kind": "message",
    }
    r = api.post("/v1/reports", json=body, headers={**h, "X-Request-ID": "report-1"})
    assert r.status_code == 201, r.text
    assert r.json()["request_id"] == "report-1"
    assert (r.json()["decision"], r.json()["create_case"]) == ("review", True)
    entry = store.decisions.get("acme", "report-1")
    assert entry is not None and entry.source == "user_report" and entry.note == "grooming"
    assert entry.subject.content_id == "post-1"


def test_report_validation(api: TestClient, keys: KeyMaker) -> None:
    h = keys("acme", Scope.SCREEN)
    free_text = {"subject": {"user_id": "u"}, "reason_code": "He said something awful"}
    r = api.post("/v1/reports", json=free_text, headers=h)
    assert r.status_code == 422 and "body.reason_code" in error_of(r)["message"]
    assert "awful" not in r.text
    r = api.post("/v1/reports", json={"subject": {}, "reason_code": "csam"}, headers=h)
    assert r.status_code == 422 and "at least one id" in error_of(r)["message"]
