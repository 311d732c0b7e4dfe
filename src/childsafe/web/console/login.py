"""Login and logout routes (the session machinery itself is in ``auth.py``).

Logins, failed logins and logouts go into the audit log: who reached the console and when
is part of what an auditor checks. A failed login records the username tried, never the
password, and the answer does not say whether the user exists.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from childsafe.audit.base import AuditEvent
from childsafe.errors import AuditError, ReviewError
from childsafe.web.console.auth import COOKIE, LOGIN_COOKIE, session_of
from childsafe.web.console.deps import ConsoleDep, Forbidden
from childsafe.web.console.render import base_path, render

router = APIRouter()
MAX_FIELD = 200


def _plain(value: str) -> bool:
    """No control characters (NUL included): such a name cannot be an account's."""
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def _safe_next(base: str, target: str) -> str:
    """Only a path inside the console (no scheme, no host, no ``//``): no open redirect."""
    bad = ("//", "\\", "..", "\r", "\n")
    if target.startswith(base + "/") and not any(b in target for b in bad):
        return target
    return f"{base}/queue"


def _login_page(
    request: Request, console: ConsoleDep, *, error: str | None = None, status: int = 200
) -> Response:
    token, cookie = console.signer.login_token()
    response = render(
        request,
        "login.html",
        None,
        status=status,
        login_token=token,
        error=error,
        next=request.query_params.get("next", ""),
        tenant=console.settings.default_tenant,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=1800,
        path=base_path(request) or "/",
        httponly=True,
        samesite="strict",
        secure=console.signer.secure,
    )
    return response


@router.get("/login")
def login_form(request: Request, console: ConsoleDep) -> Response:
    return _login_page(request, console)


@router.post("/login")
def login(
    request: Request,
    console: ConsoleDep,
    username: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    tenant: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if not console.signer.login_ok(token, request.cookies.get(LOGIN_COOKIE)):
        raise Forbidden("the login form expired or was not sent from this console; try again")
    tenant = tenant.strip() or console.settings.default_tenant
    username = username.strip()
    reviewer = None
    if _plain(tenant) and _plain(username):  # PostgreSQL text cannot hold NUL: never query it
        try:
            reviewer = console.cases.authenticate(tenant, username, password)
        except ReviewError:
            reviewer = None  # a malformed tenant or username is a failed login like any other
    if reviewer is None:
        if username and _plain(tenant) and _plain(username):
            with suppress(AuditError):  # a malformed tenant cannot be logged under
                console.audit.append(
                    AuditEvent(
                        tenant, "console", "console.login_failed", "reviewer", username[:200]
                    )
                )
        return _login_page(
            request, console, error="Wrong tenant, username or password.", status=401
        )
    session = console.signer.new_session(reviewer.tenant, reviewer.username)
    console.audit.append(
        AuditEvent(
            reviewer.tenant,
            f"reviewer:{reviewer.username}",
            "console.login",
            "reviewer",
            reviewer.username,
            {"role": reviewer.role.value},
        )
    )
    base = base_path(request)
    response = RedirectResponse(_safe_next(base, next), status_code=303)
    console.signer.set_cookie(response, session, base or "/")
    response.delete_cookie(LOGIN_COOKIE, path=base or "/")
    return response


@router.post("/logout")
def logout(request: Request, console: ConsoleDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = session_of(request, console.signer)
    base = base_path(request)
    if session is not None:
        if not console.signer.csrf_ok(session, csrf):
            raise Forbidden("the form's security token is missing or stale; reload the page")
        console.signer.revoke(session)
        console.audit.append(
            AuditEvent(
                session.tenant,
                f"reviewer:{session.username}",
                "console.logout",
                "reviewer",
                session.username,
            )
        )
    response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(COOKIE, path=base or "/")
    return response
