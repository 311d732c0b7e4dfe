"""``POST /v1/match``: is this hash, or this file, in my banks? (scope ``screen``)

A lookup, not a screening: no policy applies and nothing goes to the decision log (use
``/v1/screen/image`` for a logged decision). Matching uses the same per-tenant matcher as
screening (PDQ within each bank's radius, with flips and trimmed borders; exact digests by
equality; allow-listed hashes suppressed), brought up to date at most every few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from childsafe.hashing.formats import canonical
from childsafe.types import HashType, HashValue
from childsafe.web.bodies import inline_schema, parse_json_body, read_upload, upload_openapi
from childsafe.web.deps import CanScreen, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses
from childsafe.web.routes.hashes import hash_bytes
from childsafe.web.schemas import MatchOut, StrictIn
from childsafe.web.services import Services

router = APIRouter(tags=["matching"], responses=error_responses(401, 403, 413, 422, 429))

FILE_TYPES = ["md5", "sha1", "sha256", "pdq"]


class MatchHashIn(StrictIn):
    hash_type: HashType = Field(description="md5, sha1, sha256, pdq, video_md5 or vpdq.")
    value: str = Field(min_length=1, max_length=100_000, description="The hash, canonical form.")


class MatchResult(BaseModel):
    hashes: dict[str, str] = Field(description="What was looked up (a file's computed hashes).")
    matches: list[MatchOut]
    problems: list[str] = Field(description="Why some lookups could not run (empty when fine).")


def lookup(services: Services, tenant: str, hashes: Mapping[str, HashValue]) -> MatchResult:
    """Matches in every bank of ``tenant``; a matcher failure is a 503, not an empty list."""
    outcome = services.screener.matchers.match(tenant, hashes, "all")
    if outcome.errors and not outcome.matches:
        raise ApiError(
            503,
            "the banks could not be searched; try again",
            code="banks_unavailable",
            headers={"Retry-After": "5"},
        )
    return MatchResult(
        hashes={k: v.value for k, v in hashes.items()},
        matches=[
            MatchOut(
                bank=m.bank,
                hash_type=m.hash_type,
                distance=m.distance,
                entry_id=m.entry_id,
                label=m.label,
            )
            for m in outcome.matches
        ],
        problems=list(outcome.problems),
    )


_BODY = upload_openapi("A hash as JSON, or a file (multipart field `file`, or raw bytes).")
_BODY["requestBody"]["content"] = {
    "application/json": {"schema": inline_schema(MatchHashIn)},
    **_BODY["requestBody"]["content"],
}


@router.post(
    "/v1/match",
    summary="Look up a hash or a file in your banks",
    response_model=MatchResult,
    responses=error_responses(400, 415, 503),
    openapi_extra=_BODY,
)
async def match(request: Request, services: ServicesDep, principal: CanScreen) -> MatchResult:
    """`{"hash_type": "pdq", "value": "<64 hex>"}`, or upload a file to have its md5, sha1,
    sha256 and pdq computed and looked up. Lookups are not logged as decisions."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        body = await parse_json_body(request, MatchHashIn)
        with domain_errors():
            value = canonical(body.hash_type.value, body.value)
        hashes = {body.hash_type.value: HashValue(body.hash_type.value, value)}
    else:
        upload = await read_upload(request)
        with domain_errors():
            found = await run_in_threadpool(
                hash_bytes, services, upload.data, upload.name, FILE_TYPES
            )
        if found.error:
            raise ApiError(400, found.error, code="unreadable")
        hashes = dict(found.hashes)
    return await run_in_threadpool(lookup, services, principal.tenant, hashes)
