"""Dependencies: the services, the caller (``Authorization: Bearer <key>``) and its scopes.

Order matters and is fixed here: authenticate (401), then rate-limit *per key* (429), then
check the scope (403). A missing or bad key gets ``WWW-Authenticate`` as RFC 6750 asks, and
the two cases say which they are (no key sent, or a key that is unknown, revoked or of a
deleted tenant) without saying which of the latter: that would help someone guessing keys.

Tenancy is not a dependency but a fact of the principal: every route reads
``principal.tenant`` and reaches only that tenant's banks, policies and decisions, so there
is no request parameter a caller could set to see another tenant's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from childsafe.tenancy.base import Principal, Scope
from childsafe.web.errors import ApiError
from childsafe.web.services import Services

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `childsafe keys create`: `Authorization: Bearer cs_…`.",
)


async def get_services(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services), "create_app did not finish its start-up"
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller's principal; 401 without a valid key, 429 over the key's rate."""
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="childsafe"'},
        )
    principal = services.access.verify(credentials.credentials)
    if principal is None:
        raise ApiError(
            401,
            "invalid API key (unknown, revoked, or of a deleted tenant)",
            headers={"WWW-Authenticate": 'Bearer realm="childsafe", error="invalid_token"'},
        )
    wait = services.limiter.take(principal.key_id)
    if wait:
        per_minute = services.settings.rate_limit_per_minute
        raise ApiError(
            429,
            f"rate limit of {per_minute} requests per minute for this key exceeded; "
            f"retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return principal


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through keys with ``scope`` (or ``admin``), else 403.

    Cheap dependencies are ``async`` on purpose: FastAPI runs every sync dependency in the
    thread pool, a hop that costs more than the check itself. ``authenticate`` stays sync
    because it queries the database.
    """

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.allows(scope):
            raise ApiError(403, f"this API key lacks the '{scope.value}' scope")
        return principal

    check.__name__ = f"require_{scope.name.lower()}"
    return check


CanScreen = Annotated[Principal, Depends(require(Scope.SCREEN))]
CanReadBanks = Annotated[Principal, Depends(require(Scope.BANKS_READ))]
CanWriteBanks = Annotated[Principal, Depends(require(Scope.BANKS_WRITE))]
IsAdmin = Annotated[Principal, Depends(require(Scope.ADMIN))]
