"""The OpenAPI document: valid, and every operation documented for clients."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient

from childsafe.config import Settings
from childsafe.web.app import create_app

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # The document is built from the routes alone: no database is opened for it.
    app = create_app(Settings(env="development"), warm_up=False)
    return TestClient(app).get("/openapi.json").json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]


def test_document_is_valid_openapi() -> None:
    app = create_app(Settings(env="development"), warm_up=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.validate()
    assert len(list(schema.get_all_operations())) >= 15


def test_every_operation_has_a_summary_and_typed_responses(spec: dict[str, Any]) -> None:
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, where
        for status in ok:
            if status != "204":
                assert "application/json" in op["responses"][status]["content"], where
        for status, response in op["responses"].items():
            assert "X-Request-ID" in response["headers"], (where, status)
            if status[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (where, status)


def test_protected_operations_document_auth_and_limits(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, method, op in _operations(spec):
        if path in PUBLIC:
            continue
        where = f"{method.upper()} {path}"
        assert op.get("security") == [{"ApiKey": []}], where
        assert {"401", "403", "429"} <= set(op["responses"]), where
        if "requestBody" in op:
            assert {"400", "413"} <= set(op["responses"]), where


def test_no_framework_validation_model_leaks(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "ErrorBody" in spec["components"]["schemas"]
