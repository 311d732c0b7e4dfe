"""One error shape for everything: unknown routes, methods, parameters, and bugs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import BENIGN, Headers, error_of

from childsafe.config import Settings
from childsafe.storage import SqlBankStore
from childsafe.web.app import create_app


def test_unknown_route_and_method(api: TestClient, admin: Headers) -> None:
    r = api.get("/v2/nothing", headers={"X-Request-ID": "trace-1"})
    assert r.status_code == 404 and error_of(r)["request_id"] == "trace-1"
    assert "/v2/nothing" in error_of(r)["message"]
    r = api.put("/v1/screen/text", json={"text": BENIGN}, headers=admin)
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
    assert "POST" in r.headers["allow"]


def test_unknown_query_parameters_are_refused(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/screen/image?knd=generated_image", content=b"x", headers=admin)
    err = error_of(r)
    assert r.status_code == 422 and "'knd'" in err["message"] and "kind" in err["message"]
    assert api.get("/v1/decisions?limt=5", headers=admin).status_code == 422
    assert api.get("/healthz?probe=1").status_code == 422


def test_a_bug_is_a_500_that_leaks_nothing(
    store: SqlBankStore, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, store=store, warm_up=False)

    @app.get("/boom")
    def boom() -> None:  # a test-only route standing in for any bug
        raise RuntimeError("secret words from the content")

    with TestClient(app, raise_server_exceptions=False) as api, caplog.at_level(logging.ERROR):
        r = api.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert r.status_code == 500
    err = error_of(r)
    assert err == {"code": "internal_error", "message": err["message"], "request_id": "bug-1"}
    assert "secret" not in r.text and "Traceback" not in r.text
    logged = " ".join(rec.getMessage() for rec in caplog.records if rec.name == "childsafe.web")
    assert "bug-1" in logged and "RuntimeError" in logged and "secret" not in logged
