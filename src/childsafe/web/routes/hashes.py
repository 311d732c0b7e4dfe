"""``POST /v1/hash``: the hashes of an uploaded file (scope ``screen``).

For platforms that keep hashes rather than files (to match later, or to share with an
exchange): the bytes are hashed in memory and forgotten, and nothing is logged. Video
hashers that must decode a file on disk (``vpdq``) are not offered over HTTP; ``childsafe
hash`` computes them locally.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from childsafe.content.base import Item
from childsafe.hashing.api import hash_file
from childsafe.types import FileHashes
from childsafe.web.bodies import read_upload, upload_openapi
from childsafe.web.deps import CanScreen, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses
from childsafe.web.services import Services

router = APIRouter(tags=["hashing"], responses=error_responses(401, 403, 413, 422, 429))

HTTP_TYPES = ("md5", "sha1", "sha256", "pdq", "video_md5")
DEFAULT = "md5,sha1,sha256,pdq"
_ONE = "(" + "|".join(HTTP_TYPES) + ")"
TYPES_PATTERN = f"^{_ONE}(,{_ONE})*$"


class HashOut(BaseModel):
    name: str = Field(description="The uploaded file's name when plain, else `upload`.")
    size: int
    hashes: dict[str, str] = Field(description="Hash type to value (python-threatexchange names).")
    pdq_quality: int | None = Field(default=None, description="0-100; under 50 is not matched.")
    errors: dict[str, str] = Field(description="Hash type to why it could not be computed.")


def parse_types(raw: str, allowed: tuple[str, ...] = HTTP_TYPES) -> list[str]:
    """``md5,pdq`` to a list, refusing unknown names with the list of known ones."""
    types = [t.strip() for t in raw.split(",") if t.strip()]
    bad = [t for t in types if t not in allowed]
    if bad or not types:
        shown = ", ".join(repr(t[:20]) for t in bad[:3]) or "none"
        raise ApiError(422, f"types: unknown hash type {shown}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(types))


def hash_bytes(services: Services, data: bytes, name: str, types: list[str]) -> FileHashes:
    """The hashes of in-memory bytes (``name`` only labels error messages)."""
    return hash_file(Item.from_bytes(data, id=name), types, settings=services.settings)


@router.post(
    "/v1/hash",
    summary="Hash an uploaded file",
    response_model=HashOut,
    responses=error_responses(400, 415),
    openapi_extra=upload_openapi("The file: multipart (field `file`) or raw bytes."),
)
async def hash_upload(
    request: Request,
    services: ServicesDep,
    principal: CanScreen,
    types: Annotated[
        str,
        Query(
            max_length=200,
            pattern=TYPES_PATTERN,
            description=f"Comma-separated, from {', '.join(HTTP_TYPES)}.",
        ),
    ] = DEFAULT,
) -> HashOut:
    """md5, sha1, sha256 and pdq by default. A hash that does not apply to the content (pdq
    of a text file) is simply absent; one that should have applied (a corrupt image) is in
    `errors`."""
    wanted = parse_types(types)
    upload = await read_upload(request)
    with domain_errors():
        found = await run_in_threadpool(hash_bytes, services, upload.data, upload.name, wanted)
    if found.error:
        raise ApiError(400, found.error, code="unreadable")
    pdq = found.hashes.get("pdq")
    return HashOut(
        name=upload.name,
        size=len(upload.data),
        hashes={k: v.value for k, v in found.hashes.items()},
        pdq_quality=pdq.quality if pdq else None,
        errors=dict(found.errors),
    )
