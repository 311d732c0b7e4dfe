"""The review console: a server-rendered web UI for reviewers, leads, admins and auditors.

``mount_console(app, settings)`` mounts it under ``/console`` as its own small FastAPI app,
so it keeps its own error pages (HTML, not the API's JSON shape), its own security headers
and no OpenAPI schema, while sharing the screening service's store (see ``services.py``).

Every answer carries ``Cache-Control: no-store`` (case pages name subjects and hashes, and
media must never sit in a browser or proxy cache), a Content-Security-Policy that allows
only the console's own scripts, styles and images (no CDN: it works offline), and
``Referrer-Policy: no-referrer`` (reveal grants travel in URLs for a few minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from childsafe.config import Settings
from childsafe.errors import ChildsafeError, ContentError, EvidenceError, ReviewError
from childsafe.web.console import admin, login, media, pages
from childsafe.web.console.auth import Signer
from childsafe.web.console.deps import Forbidden, LoginRequired
from childsafe.web.console.pages import BadForm
from childsafe.web.console.render import HERE, base_path, render
from childsafe.web.console.services import ConsoleUnavailable

__all__ = ["create_console", "mount_console"]

log = logging.getLogger("childsafe.web.console")

HEADERS = {
    "Cache-Control": "no-store, private",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _error(request: Request, status: int, message: str) -> Response:
    return render(
        request, "error.html", None, status=status, title=f"Error {status}", message=message
    )


def _status(exc: ChildsafeError) -> int:
    if isinstance(exc, LookupError):
        return 404
    if isinstance(exc, ConsoleUnavailable):
        return 503
    if isinstance(exc, EvidenceError):
        return 403
    if isinstance(exc, ReviewError):
        return 409
    if isinstance(exc, ContentError):
        return 422
    return 400


def create_console(parent: FastAPI, settings: Settings) -> FastAPI:
    """The console app; ``parent`` is the app whose ``state.services`` holds the store."""
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.parent = parent
    console.state.settings = settings
    console.state.signer = Signer(settings)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (login.router, pages.router, media.router, admin.router):
        console.include_router(router)

    @console.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @console.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        base = base_path(request)
        target = request.url.path if request.method == "GET" else f"{base}/queue"
        return RedirectResponse(f"{base}/login?next={target}", status_code=303)

    @console.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @console.exception_handler(BadForm)
    async def bad_form(request: Request, exc: BadForm) -> Response:
        return _error(request, 400, str(exc))

    @console.exception_handler(ChildsafeError)
    async def childsafe_error(request: Request, exc: ChildsafeError) -> Response:
        return _error(request, _status(exc), str(exc))

    @console.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return _error(request, 400, f"the request is not valid: {fields}")

    @console.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @console.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("console error on %s %s", request.method, request.url.path)
        return _error(request, 500, "something went wrong; the error was logged")

    return console


def mount_console(app: FastAPI, settings: Settings, path: str = "/console") -> None:
    """Mount the console on ``app`` (which must put ``Services`` on ``app.state.services``)."""
    app.mount(path, create_console(app, settings), name="console")
