"""``/v1/decisions``: your tenant's decision log (scope ``admin``).

Entries hold hashes, verdicts, reasons and score summaries — never content — so reading
them exposes nobody to the material. Lookups are scoped to the caller's tenant: another
tenant's request id is simply not found.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from childsafe.screening.base import DecisionEntry
from childsafe.web.deps import IsAdmin, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses
from childsafe.web.schemas import PolicyOut

router = APIRouter(
    prefix="/v1/decisions", tags=["decisions"], responses=error_responses(401, 403, 422, 429, 503)
)


class SubjectOut(BaseModel):
    user_id: str | None = None
    conversation_id: str | None = None
    sender: str | None = None
    recipient: str | None = None
    content_id: str | None = None


class DecisionOut(BaseModel):
    request_id: str
    created_at: datetime
    source: str
    kind: str
    decision: str
    reasons: list[str]
    policy: PolicyOut
    content_sha256: str
    pdq: str | None = None
    subject: SubjectOut
    matches: list[str]
    scores: dict[str, float | None]
    create_case: bool
    note: str | None = None

    @classmethod
    def of(cls, e: DecisionEntry) -> DecisionOut:
        s = e.subject
        return cls(
            request_id=e.request_id,
            created_at=e.created_at,
            source=str(e.source),
            kind=str(e.kind),
            decision=e.decision,
            reasons=list(e.reasons),
            policy=PolicyOut(name=e.policy.name, version=e.policy.version),
            content_sha256=e.content_sha256,
            pdq=e.pdq,
            subject=SubjectOut(
                user_id=s.user_id,
                conversation_id=s.conversation_id,
                sender=s.sender,
                recipient=s.recipient,
                content_id=s.content_id,
            ),
            matches=list(e.match_summary),
            scores=dict(e.score_summary),
            create_case=e.create_case,
            note=e.note,
        )


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_since(raw: str) -> datetime:
    """An RFC 3339 date-time with its offset (a naive time would be ambiguous), else 422."""
    try:
        if not _RFC3339.fullmatch(raw):
            raise ValueError
        return datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ApiError(
            422, "query.since: expected an RFC 3339 date-time such as 2025-01-31T00:00:00Z"
        ) from None


class DecisionList(BaseModel):
    decisions: list[DecisionOut]


@router.get("", summary="List recent decisions", response_model=DecisionList)
def list_decisions(
    services: ServicesDep,
    principal: IsAdmin,
    since: Annotated[
        str | None,
        Query(
            max_length=40,
            description="RFC 3339 date-time, e.g. 2025-01-31T00:00:00Z.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    decision: Annotated[Literal["allow", "review", "block"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DecisionList:
    start = parse_since(since) if since is not None else None
    with domain_errors():
        found = services.store.decisions.list(
            principal.tenant, since=start, decision=decision, limit=limit
        )
    return DecisionList(decisions=[DecisionOut.of(e) for e in found])


@router.get(
    "/{request_id}",
    summary="One decision by request id",
    response_model=DecisionOut,
    responses=error_responses(404),
)
def get_decision(
    request_id: Annotated[str, Path(min_length=1, max_length=128)],
    services: ServicesDep,
    principal: IsAdmin,
) -> DecisionOut:
    with domain_errors():
        entry = services.store.decisions.get(principal.tenant, request_id)
    if entry is None:
        raise ApiError(404, f"no decision with request id {request_id[:128]!r} in your tenant")
    return DecisionOut.of(entry)
