"""Console dependencies: the services, the signed-in user, role checks, the CSRF check.

Every route declares which roles it admits with ``require(...)``; there is no route without
one except the login form and the static files. Unauthenticated requests are redirected to
the login form (a console is used by people, not scripts); a signed-in user without the role
gets a 403 page that says which roles the page needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from childsafe.errors import ReviewError
from childsafe.review.base import Reviewer, Role
from childsafe.web.console.auth import User, session_of
from childsafe.web.console.services import ConsoleServices, console_services

REVIEWING = (Role.REVIEWER, Role.LEAD, Role.ADMIN)
LEADS = (Role.LEAD, Role.ADMIN)
ADMINS = (Role.ADMIN,)
AUDIT_READERS = (Role.AUDITOR, Role.ADMIN)
EVERYONE = tuple(Role)


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login form."""


class Forbidden(Exception):
    """Signed in, but not allowed: a 403 page with this message."""


async def get_console(request: Request) -> ConsoleServices:
    return console_services(request.app)


ConsoleDep = Annotated[ConsoleServices, Depends(get_console)]


def current_user(request: Request, console: ConsoleDep) -> User:
    """The signed-in, enabled reviewer; ``LoginRequired`` otherwise (sync: it queries)."""
    session = session_of(request, console.signer)
    if session is None:
        raise LoginRequired
    try:
        reviewer: Reviewer = console.cases.reviewer(session.tenant, session.username)
    except ReviewError:
        raise LoginRequired from None
    if reviewer.disabled_at is not None:
        raise LoginRequired
    return User(session, reviewer, console.signer.csrf(session))


def require(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency admitting signed-in users with one of ``roles``, else 403."""

    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"this page is for {names}; you are signed in as {user.role.value}")
        return user

    return check


AnyUser = Annotated[User, Depends(require(*EVERYONE))]
ReviewingUser = Annotated[User, Depends(require(*REVIEWING))]
LeadUser = Annotated[User, Depends(require(*LEADS))]
AdminUser = Annotated[User, Depends(require(*ADMINS))]
AuditReader = Annotated[User, Depends(require(*AUDIT_READERS))]


def check_csrf(console: ConsoleServices, user: User, token: str) -> None:
    """Refuse a POST whose form token is not this session's (403)."""
    if not console.signer.csrf_ok(user.session, token):
        raise Forbidden("the form's security token is missing or stale; reload the page")
