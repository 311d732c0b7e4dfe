"""One JSON error shape for every 4xx and 5xx: ``{"error": {"code", "message", "request_id"}}``.

Why one shape: a client (and an auditor reading logs) handles every failure the same way,
and the ``request_id`` ties the answer to the decision log and to the server's own log line.

Why no echo: a request body may be the very content the service exists to keep out of
logs and databases (DESIGN rule 2). Validation errors therefore name the *field* and the
*problem* ("body.text: Field required") but never the value; unexpected exceptions become a
bare ``internal_error`` with the request id, never a stack trace or an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from childsafe.errors import (
    BankImportError,
    BankNotFound,
    ContentTooLarge,
    HashFormatError,
    ScreenError,
)
from childsafe.storage.errors import InvalidValue, NotFound, TenantExists
from childsafe.web.schemas import NOT_BLANK, SHA256_PATTERN

log = logging.getLogger("childsafe.web")

#: Patterns of our schemas, said in words for error messages.
PATTERN_HINTS: dict[str, str] = {
    NOT_BLANK: "must not be empty or whitespace only",
    SHA256_PATTERN: "expected 64 hexadecimal characters (a SHA-256)",
}

#: Stable error codes by status, for errors the framework raises (unknown route, wrong method).
_DEFAULT_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed request (bad JSON, bad hash, undecodable upload).",
    401: "Missing or invalid API key (send `Authorization: Bearer <key>`).",
    403: "The key lacks the scope this endpoint needs.",
    404: "No such resource in your tenant.",
    409: "The resource already exists.",
    413: "Request body over the size limit.",
    415: "Unsupported content type for this endpoint.",
    422: "A field is missing or invalid; the message names it.",
    429: "Rate limit exceeded; retry after `Retry-After` seconds.",
    503: "Not ready (database unreachable or models not loaded).",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_error`.")
    message: str = Field(description="What went wrong, for a human; never echoes content.")
    request_id: str = Field(description="The request id (also in the `X-Request-ID` header).")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a route raises on purpose; becomes the JSON error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _DEFAULT_CODES.get(status, "error")
        self.message = message
        self.headers = dict(headers or {})


def request_id_of(request: Request) -> str:
    """The id the request-id middleware assigned (``-`` outside it, e.g. in unit tests)."""
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else "-"


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def describe_status(status: int) -> str:
    """The OpenAPI description of an error status."""
    return _DESCRIPTIONS.get(status, "Error.")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, all with the error schema."""
    return {
        s: {"model": ErrorBody, "description": describe_status(s)} for s in sorted(set(statuses))
    }


def describe_validation(errors: Sequence[Any]) -> tuple[int, str, str]:
    """Status, code and message for pydantic/FastAPI errors: field names, never input values.

    Malformed JSON is a 400 (the body is not JSON at all), everything else a 422 naming
    each bad field (at most five, so a hostile body cannot make the message huge).
    """
    first = errors[0] if errors else {}
    if isinstance(first, Mapping) and first.get("type") == "json_invalid":
        ctx = first.get("ctx") or {}
        why = str(ctx.get("error", "invalid JSON"))[:100] if isinstance(ctx, Mapping) else ""
        pos = first.get("loc", ("body", 0))
        at = f" at character {pos[-1]}" if isinstance(pos, Sequence) and pos else ""
        return 400, "malformed_json", f"request body is not valid JSON: {why}{at}"
    parts = []
    for err in list(errors)[:5]:
        if not isinstance(err, Mapping):
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "request"
        # The message of a *custom* validator may quote the input; keep pydantic's own
        # messages, which describe the constraint, and clip them.
        parts.append(f"{loc}: {_message(err)[:160]}")
    more = len(errors) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return 422, "validation_error", "; ".join(parts) or "invalid request"


def _message(err: Mapping[str, Any]) -> str:
    """pydantic's message, with regex patterns we use said in words."""
    ctx = err.get("ctx") or {}
    if err.get("type") == "string_pattern_mismatch" and isinstance(ctx, Mapping):
        hint = PATTERN_HINTS.get(str(ctx.get("pattern")))
        if hint:
            return hint
    return str(err.get("msg", "invalid"))


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, request_id_of(request), exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _DEFAULT_CODES.get(status, "error")
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if status == 400 and detail == "There was an error parsing the body":
        code, detail = "malformed_body", "request body could not be parsed: send UTF-8 JSON"
    elif status == 404 and detail in ("", "Not Found"):
        detail = f"no route {request.method} {request.url.path}"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers or {})
    return error_response(
        status, code, detail or code.replace("_", " "), request_id_of(request), headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    status, code, message = describe_validation(exc.errors())
    return error_response(status, code, message, request_id_of(request))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log the type and where (never the message: it may quote content), answer 500."""
    rid = request_id_of(request)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    log.error("request %s failed: %s at %s", rid, type(exc).__name__, where)
    # Starlette sends this answer from its outermost middleware, outside the request-id
    # middleware, so the header is set here.
    return error_response(
        500, "internal_error", "internal error; quote the request id", rid, {"X-Request-ID": rid}
    )


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


def domain_error(exc: Exception) -> ApiError | None:
    """The HTTP form of an error the library raises on purpose (None: not one of those).

    Messages are the library's own, which name the item and the problem and never quote
    content (DESIGN rule 5); a database failure says only that, since its driver message can
    hold connection details.
    """
    if isinstance(exc, ContentTooLarge):
        return ApiError(413, str(exc))
    if isinstance(exc, ScreenError):
        return ApiError(422, str(exc), code="unscreenable")
    if isinstance(exc, HashFormatError):
        return ApiError(400, str(exc), code="bad_hash")
    if isinstance(exc, BankImportError):
        return ApiError(400, str(exc), code="bad_hash_list")
    if isinstance(exc, BankNotFound | NotFound):
        return ApiError(404, str(exc))
    if isinstance(exc, TenantExists):
        return ApiError(409, str(exc))
    if isinstance(exc, InvalidValue):
        return ApiError(422, str(exc))
    if isinstance(exc, SQLAlchemyError):
        return ApiError(
            503,
            "the database is unavailable; nothing was decided or changed",
            code="database_unavailable",
            headers={"Retry-After": "5"},
        )
    return None


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the library's deliberate errors into ``ApiError``; anything else stays a bug."""
    try:
        yield
    except ApiError:
        raise
    except Exception as exc:
        mapped = domain_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
