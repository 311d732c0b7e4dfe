"""Unknown query parameters are refused (422), as unknown body fields are.

Why: FastAPI ignores parameters it was not told about, so a typo is silent —
``/v1/screen/image?knd=generated_image`` would screen a generated image under the upload
rule, and ``/v1/decisions?limt=5`` would return a hundred rows. A screening service should
say so instead. The allowed names are the route's declared query parameters (its own and
its dependencies'), computed once per route.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from childsafe.web.errors import ApiError

_ALLOWED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(route: APIRoute) -> frozenset[str]:
    names = _ALLOWED.get(id(route))
    if names is None:
        names = _ALLOWED[id(route)] = frozenset(_query_names(route.dependant))
    return names


async def reject_unknown_query(request: Request) -> None:
    """An app-wide dependency: 422 naming the first parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _allowed(route)
    for name in request.query_params:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ApiError(
                422, f"query.{name[:40]!r}: unknown parameter (this endpoint takes: {known})"
            )
