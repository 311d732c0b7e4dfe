"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job): no key needed.

Load balancers and orchestrators call these without credentials, so they say only "ok" or
what is not ready (database unreachable, models still loading), never versions or paths.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from childsafe.web.deps import ServicesDep
from childsafe.web.errors import ApiError, error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: database reachable and models loaded",
    response_model=Ready,
    responses=error_responses(503),
)
def readyz(request: Request, services: ServicesDep) -> Ready:
    """200 when the service can screen; 503 (with the reasons) while it cannot."""
    problems = []
    db = services.database_problem()
    if db:
        problems.append(db)
    warm = services.warmup
    if not warm.done.is_set():
        problems.append("models are still loading")
    elif warm.problems:
        problems.append(f"{len(warm.problems)} model(s) failed to load (see the server log)")
    if problems:
        raise ApiError(
            503, "not ready: " + "; ".join(problems), code="not_ready", headers={"Retry-After": "5"}
        )
    return Ready(status="ready", checks={"database": "ok", "models": "loaded"})
