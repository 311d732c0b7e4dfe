"""``/v1/screen/*`` end to end: real store, real screener, real classifiers."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from tests.web.helpers import BENIGN, RISKY, Headers, KeyMaker, error_of, photo_png

from childsafe.storage import SqlBankStore
from childsafe.tenancy.base import Scope


def test_benign_prompt_is_allowed_and_logged_without_its_text(
    api: TestClient, admin: Headers, store: SqlBankStore
) -> None:
    r = api.post("/v1/screen/text", json={"kind": "prompt", "text": BENIGN}, headers=admin)
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "allow"
    assert verdict["kind"] == "prompt"
    assert verdict["policy"] == {"name": "default", "version": "1"}
    assert verdict["request_id"] == r.headers["x-request-id"]
    assert verdict["content_sha256"] == hashlib.sha256(BENIGN.encode()).hexdigest()
    assert [s["classifier"] for s in verdict["scores"]] == ["text_risk"]
    entry = store.decisions.get("acme", verdict["request_id"])
    assert entry is not None and entry.decision == "allow"
    assert BENIGN not in repr(entry) and "fractions" not in repr(entry)


def test_risky_prompt_is_blocked_with_the_prevention_message(
    api: TestClient, admin: Headers, store: SqlBankStore
) -> None:
    r = api.post("/v1/screen/text", json={"text": RISKY}, headers=admin)
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "block"
    assert any(reason.startswith("classifier:text_risk") for reason in verdict["reasons"])
    assert verdict["message"] and "Stop It Now" in verdict["message"]
    assert verdict["create_case"] is True
    entry = store.decisions.get("acme", verdict["request_id"])
    assert entry is not None and entry.decision == "block" and entry.create_case
    assert "nsfw picture" not in repr(entry)


def test_request_id_header_is_used_and_reuse_for_other_content_is_refused(
    api: TestClient, admin: Headers, store: SqlBankStore
) -> None:
    h = {**admin, "X-Request-ID": "client-42"}
    first = api.post("/v1/screen/text", json={"text": BENIGN}, headers=h)
    assert first.status_code == 200
    assert first.json()["request_id"] == "client-42" == first.headers["x-request-id"]
    retry = api.post("/v1/screen/text", json={"text": BENIGN}, headers=h)
    assert retry.status_code == 200  # the same content again is a retry
    other = api.post("/v1/screen/text", json={"text": "a cat on a sofa"}, headers=h)
    assert other.status_code == 409
    assert error_of(other)["code"] == "request_id_reused"
    assert len([e for e in store.decisions.list("acme") if e.request_id == "client-42"]) == 1


def test_insane_request_id_is_replaced(api: TestClient, admin: Headers) -> None:
    r = api.post(
        "/v1/screen/text", json={"text": BENIGN}, headers={**admin, "X-Request-ID": "a b\tc"}
    )
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    assert rid != "a b\tc" and r.json()["request_id"] == rid


def test_text_request_errors_are_clear(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/screen/text", json={"kind": "image", "text": "x"}, headers=admin)
    assert r.status_code == 422 and "body.kind" in error_of(r)["message"]
    r = api.post("/v1/screen/text", json={"text": "   "}, headers=admin)
    assert error_of(r)["message"] == "body.text: must not be empty or whitespace only"
    r = api.post("/v1/screen/text", json={"text": "hi", "colour": "red"}, headers=admin)
    assert r.status_code == 422 and "body.colour" in error_of(r)["message"]
    r = api.post(
        "/v1/screen/text",
        content=b'{"text": "secret words',
        headers={**admin, "content-type": "application/json"},
    )
    err = error_of(r)
    assert r.status_code == 400 and err["code"] == "malformed_json"
    assert "secret words" not in err["message"]


def test_validation_errors_never_echo_the_submitted_text(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/screen/text", json={"text": 12345678}, headers=admin)
    assert r.status_code == 422
    assert "12345678" not in r.text


def test_image_upload_multipart_and_raw_bytes_agree(api: TestClient, admin: Headers) -> None:
    png = photo_png("coffee")
    multi = api.post(
        "/v1/screen/image", files={"file": ("coffee.png", png, "image/png")}, headers=admin
    )
    raw = api.post(
        "/v1/screen/image?kind=image",
        content=png,
        headers={**admin, "content-type": "application/octet-stream"},
    )
    for r in (multi, raw):
        assert r.status_code == 200, r.text
        v = r.json()
        assert v["decision"] == "allow" and v["kind"] == "image"
        assert v["content_sha256"] == hashlib.sha256(png).hexdigest()
        assert v["pdq"] and len(v["pdq"]) == 64


def test_undecodable_image_fails_closed_to_review(api: TestClient, admin: Headers) -> None:
    r = api.post(
        "/v1/screen/image",
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        headers={**admin, "content-type": "image/png"},
    )
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["decision"] == "review"
    assert v["error"] and any(reason.startswith("error:") for reason in v["reasons"])


def test_image_request_errors(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/screen/image", content=b"", headers={**admin, "content-type": "image/png"})
    assert r.status_code == 400 and error_of(r)["code"] == "empty_upload"
    r = api.post("/v1/screen/image", content=b"abc", headers={**admin, "content-type": "text/x"})
    assert r.status_code == 415
    r = api.post("/v1/screen/image", files={"other": ("a", b"x")}, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "missing_file"
    r = api.post(
        "/v1/screen/image", data={"kind": "image"}, files={"file": ("a", b"x")}, headers=admin
    )
    assert r.status_code == 422 and "form field 'kind'" in error_of(r)["message"]
    r = api.post(
        "/v1/screen/image?kind=prompt", files={"file": ("a.png", photo_png())}, headers=admin
    )
    assert r.status_code == 422 and "query.kind" in error_of(r)["message"]


def test_chat_messages_are_scored_per_conversation(api: TestClient, admin: Headers) -> None:
    base = {"conversation_id": "c1", "sender": "u1", "recipient": "u2"}
    r = api.post("/v1/screen/message", json={**base, "text": "hey, how was school?"}, headers=admin)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["kind"] == "message"
    assert {s["classifier"] for s in v["scores"]} == {"text_risk", "conversation_risk"}
    r = api.post("/v1/screen/message", json={"sender": "u1", "text": "hi"}, headers=admin)
    assert r.status_code == 422 and "conversation_id" in error_of(r)["message"]
    r = api.delete("/v1/screen/conversations/c1", headers=admin)
    assert r.status_code == 200 and r.json()["pairs_forgotten"] >= 1


def test_screening_needs_the_screen_scope(api: TestClient, keys: KeyMaker) -> None:
    reader = keys("acme", Scope.BANKS_READ)
    r = api.post("/v1/screen/text", json={"text": BENIGN}, headers=reader)
    assert r.status_code == 403 and "screen" in error_of(r)["message"]
    screener = keys("acme", Scope.SCREEN)
    assert api.post("/v1/screen/text", json={"text": BENIGN}, headers=screener).status_code == 200
