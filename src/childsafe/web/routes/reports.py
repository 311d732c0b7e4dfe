"""``POST /v1/reports``: a user reported content; log it for review (scope ``screen``).

A report carries your platform's ids for what was reported and a short reason *code* from
your report form (``csam``, ``grooming``, ``sextortion``), never free text or the content:
it goes into the same decision log as screening verdicts (source ``user_report``, decision
``review``, a case requested), and that log holds no content. Attach ``content_sha256`` when
you have it so the report can be tied to earlier screening decisions about the same bytes.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from childsafe.screening.base import ContentKind
from childsafe.web.deps import CanScreen, ServicesDep
from childsafe.web.errors import domain_errors, error_responses, request_id_of
from childsafe.web.schemas import SHA256_PATTERN, IdStr, StrictIn, SubjectIn

router = APIRouter(tags=["reports"], responses=error_responses(401, 403, 413, 422, 429, 503))


class ReportSubjectIn(SubjectIn):
    """Like a screening subject, but at least one id is required (a report is about
    something); ids are strings, or left out."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    user_id: IdStr | SkipJsonSchema[None] = None
    conversation_id: IdStr | SkipJsonSchema[None] = None
    sender: IdStr | SkipJsonSchema[None] = None
    recipient: IdStr | SkipJsonSchema[None] = None
    content_id: IdStr | SkipJsonSchema[None] = None


class ReportIn(StrictIn):
    subject: ReportSubjectIn = Field(description="At least one id of what (or who) was reported.")
    reason_code: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="A code from your report form, not free text.",
    )
    content_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)
    kind: ContentKind = ContentKind.IMAGE

    @model_validator(mode="after")
    def _has_an_id(self) -> ReportIn:
        if not any(self.subject.model_dump().values()):
            raise ValueError("subject needs at least one id (user_id, content_id, ...)")
        return self


class ReportOut(BaseModel):
    request_id: str
    decision: str
    reasons: list[str]
    create_case: bool
    created_at: datetime


@router.post(
    "/v1/reports",
    summary="Report content for review",
    status_code=201,
    response_model=ReportOut,
    responses=error_responses(400),
)
def report(
    body: ReportIn, request: Request, services: ServicesDep, principal: CanScreen
) -> ReportOut:
    """Logged as a `review` decision that opens a case; returns its request id."""
    with domain_errors():
        entry = services.screener.user_report(
            principal.tenant,
            body.subject.to_subject(),
            body.reason_code,
            content_sha256=body.content_sha256,
            kind=body.kind,
            request_id=request_id_of(request),
        )
    return ReportOut(
        request_id=entry.request_id,
        decision=entry.decision,
        reasons=list(entry.reasons),
        create_case=entry.create_case,
        created_at=entry.created_at,
    )
