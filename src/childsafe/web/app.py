"""``create_app``: the screening service's app factory (``childsafe serve`` runs it).

Nothing is built at import time (STYLE 15): the factory checks the settings (production
refuses default secrets, ``web.security``), and the lifespan opens the store, builds the
screener and starts loading models in the background. Tests pass their own ``store`` and
``screener``; the app then uses them as they are and closes nothing it did not open.

Middleware, outermost first: the request id (so every answer, a 413 included, carries one),
then the body-size limit (before anything reads the body). Routes then authenticate, rate
limit and check scopes through ``web.deps``; every error leaves in one JSON shape
(``web.errors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from childsafe import __version__
from childsafe.config import Settings
from childsafe.screening.screener import Screener
from childsafe.storage import SqlBankStore
from childsafe.web import errors
from childsafe.web.console import mount_console
from childsafe.web.limits import BodyLimitMiddleware
from childsafe.web.requestid import RequestIdMiddleware
from childsafe.web.routes import ROUTERS
from childsafe.web.security import check_startup
from childsafe.web.services import build_services
from childsafe.web.strict import reject_unknown_query

DESCRIPTION = """\
Screen prompts, captions, generated text, uploads, generated images and chat messages
against your hash banks and risk classifiers, under your tenant's versioned policy.
Verdicts are `allow`, `review` or `block` with reasons; classifier scores route content to
human review, they are never proof. Every verdict is recorded in the decision log (hashes
and verdicts, never content) under its request id.

Authenticate with `Authorization: Bearer <API key>`; each key belongs to one tenant and has
scopes (`screen`, `banks:read`, `banks:write`, `admin`). Every error is
`{"error": {"code", "message", "request_id"}}`. See docs/service.md.
"""


def create_app(
    settings: Settings | None = None,
    *,
    store: SqlBankStore | None = None,
    screener: Screener | None = None,
    warm_up: bool = True,
) -> FastAPI:
    """The app. ``store``/``screener`` are used as given (not closed); the rest is built
    from ``settings`` (default: the environment) when the app starts. ``warm_up`` loads the
    default tenant's models in the background at start-up (``/readyz`` waits for it)."""
    settings = settings if settings is not None else Settings()
    check_startup(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, store=store, screener=screener)
        if warm_up:
            services.start_warm_up()
        else:
            services.warmup.done.set()
        app.state.services = services
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="childsafe screening service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query)],
    )
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    mount_console(app, settings)  # /console: the review UI (issue 6)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, finished: its own 422 model replaced by ours (the one error shape),
    400 and 413 documented wherever there is a body, and the ``X-Request-ID`` response header
    on every answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path in schema.get("paths", {}).values():
        for op in path.values():
            responses = op.setdefault("responses", {})
            if "requestBody" in op:  # any body can be malformed or too big
                for status in ("400", "413"):
                    responses.setdefault(
                        status,
                        {"description": errors.describe_status(int(status)), "content": error_ref},
                    )
            for status, response in responses.items():
                if status == "422":
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    }
                    response["description"] = errors.describe_status(422)
                response.setdefault("headers", {})["X-Request-ID"] = {
                    "description": "The request id (yours if sane, else generated).",
                    "schema": {"type": "string"},
                }
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema
