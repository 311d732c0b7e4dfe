"""``/m/*``: the lookup API of Meta's hasher-matcher-actioner (HMA), so HMA clients can switch.

Same paths, query parameters and response shapes as HMA's matching blueprint:

* ``GET /m/raw_lookup?signal_type=pdq&signal=<hash>[&include_distance=true]`` →
  ``{"matches": [<content id>, ...]}``, or with distances
  ``{"matches": [{"content_id": <id>, "distance": "<d>"}]}``. Content ids are our bank
  entry ids.
* ``GET /m/lookup?signal_type=pdq&signal=<hash>`` → ``["<bank>", ...]``, the banks matched.
* ``POST /m/lookup`` with one multipart file whose *field name* is the content type
  (``photo`` or ``video``; ``types=pdq,...`` narrows the signal types) →
  ``{"<signal type>": ["<bank>", ...]}``.

Differences, all deliberate: a key with the ``screen`` scope is required (HMA has no
authentication); ``url=`` lookups are refused, because fetching arbitrary URLs from inside
a trust-and-safety network is a server-side request forgery hole, so clients POST the file
instead; ``seed`` is accepted and ignored (we have no per-bank sampling ratio, every match
counts); errors use our one JSON error shape (HMA's ``message`` is our ``error.message``).
Matching is ours: PDQ with each bank's radius and flips, allow-lists applied.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from childsafe.errors import HashFormatError
from childsafe.hashing.formats import canonical
from childsafe.types import HashType, HashValue, Match
from childsafe.web.bodies import read_upload, upload_openapi
from childsafe.web.deps import CanScreen, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses
from childsafe.web.routes.hashes import hash_bytes
from childsafe.web.services import Services

router = APIRouter(
    prefix="/m",
    tags=["hma-compatible"],
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
)

#: HMA content types (the multipart field name) and the signal types we compute for them.
CONTENT_SIGNALS: dict[str, tuple[str, ...]] = {"photo": ("pdq",), "video": ("video_md5",)}
SIGNAL_TYPES = tuple(t.value for t in HashType)


class MatchWithDistance(BaseModel):
    content_id: int
    distance: str


class RawLookupOut(BaseModel):
    matches: list[int] | list[MatchWithDistance]


def _bool(raw: str) -> bool:
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, "invalid boolean parameter - prefer true/false")


def _signal(signal_type: str, signal: str) -> dict[str, HashValue]:
    if signal_type not in SIGNAL_TYPES:
        raise ApiError(400, f"No such SignalType {signal_type[:40]!r}")
    try:
        value = canonical(signal_type, signal)
    except HashFormatError as exc:
        raise ApiError(400, f"invalid signal type: {exc}", code="bad_hash") from None
    return {signal_type: HashValue(signal_type, value)}


def _matches(services: Services, tenant: str, hashes: dict[str, HashValue]) -> list[Match]:
    outcome = services.screener.matchers.match(tenant, hashes, "all")
    if outcome.errors and not outcome.matches:
        raise ApiError(
            503, "index not yet ready", code="banks_unavailable", headers={"Retry-After": "5"}
        )
    return outcome.matches


def _banks(matches: list[Match]) -> list[str]:
    return sorted({m.bank for m in matches})


Signal = Annotated[str, Query(min_length=1, max_length=100_000, description="The hash.")]
SignalTypeName = Literal["md5", "sha1", "sha256", "pdq", "video_md5", "vpdq"]
assert set(SignalTypeName.__args__) == set(SIGNAL_TYPES)  # type: ignore[attr-defined]
SignalType = Annotated[SignalTypeName, Query(description="The hash's type (HMA's signal type).")]
Flag = Annotated[
    str, Query(pattern="^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$", description="true/false")
]


@router.get(
    "/raw_lookup", summary="HMA: look up a hash, answer entry ids", response_model=RawLookupOut
)
def raw_lookup(
    services: ServicesDep,
    principal: CanScreen,
    signal: Signal,
    signal_type: SignalType,
    include_distance: Flag = "false",
) -> RawLookupOut:
    """HMA's `/m/raw_lookup`: the matching bank entries' ids, with distances on request."""
    hashes = _signal(signal_type, signal)
    with_distance = _bool(include_distance)
    matches = _matches(services, principal.tenant, hashes)
    if with_distance:
        return RawLookupOut(
            matches=[
                MatchWithDistance(content_id=m.entry_id, distance=str(m.distance)) for m in matches
            ]
        )
    return RawLookupOut(matches=[m.entry_id for m in matches])


@router.get("/lookup", summary="HMA: look up a hash, answer bank names", response_model=list[str])
def lookup_get(
    services: ServicesDep,
    principal: CanScreen,
    signal: Annotated[str | None, Query(min_length=1, max_length=100_000)] = None,
    signal_type: Annotated[SignalTypeName | None, Query()] = None,
    url: Annotated[str | None, Query(max_length=4096, description="Refused (see docs).")] = None,
    seed: Annotated[str | None, Query(max_length=200, description="Accepted, unused.")] = None,
) -> list[str]:
    """HMA's `GET /m/lookup`: the names of the banks the hash matches."""
    if url is not None:
        raise ApiError(
            400,
            "url lookups are not supported (the service fetches nothing); "
            "POST the file to /m/lookup instead",
            code="url_unsupported",
        )
    if signal is None or signal_type is None:
        missing = "signal_type" if signal_type is None else "signal"
        raise ApiError(422, f"query.{missing}: required (or use POST /m/lookup with a file)")
    hashes = _signal(signal_type, signal)
    return _banks(_matches(services, principal.tenant, hashes))


@router.post(
    "/lookup",
    summary="HMA: hash an uploaded file and look it up",
    response_model=dict[str, list[str]],
    responses=error_responses(415),
    openapi_extra=upload_openapi(
        "One file; the form field's name is its content type: `photo` or `video`.",
        file_fields=("photo", "video"),
        raw=False,
    ),
)
async def lookup_post(
    request: Request,
    services: ServicesDep,
    principal: CanScreen,
    types: Annotated[
        str | None, Query(max_length=200, pattern="^(pdq|video_md5)(,(pdq|video_md5))*$")
    ] = None,
    seed: Annotated[str | None, Query(max_length=200, description="Accepted, unused.")] = None,
) -> dict[str, list[str]]:
    """HMA's `POST /m/lookup`: each signal type of the upload → the banks it matches."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(415, "Missing multipart/form-data file upload (field 'photo' or 'video')")
    upload = await read_upload(request, file_fields=tuple(CONTENT_SIGNALS))
    signals = CONTENT_SIGNALS[upload.key]
    if types is not None:
        chosen = [t.strip() for t in types.split(",") if t.strip()]
        for t in chosen:
            if t not in signals:
                raise ApiError(400, f"signal type {t[:40]!r} doesn't exist or is disabled")
        if not chosen:
            raise ApiError(400, "empty signal type selection")
        signals = tuple(chosen)
    hashes: dict[str, HashValue] = {}
    if "video_md5" in signals:
        digest = hashlib.md5(upload.data, usedforsecurity=False).hexdigest()
        hashes["video_md5"] = HashValue("video_md5", digest)
    if "pdq" in signals:
        with domain_errors():
            found = await run_in_threadpool(hash_bytes, services, upload.data, upload.name, ["pdq"])
        if "pdq" not in found.hashes:
            why = found.error or found.errors.get("pdq") or "not a decodable image"
            raise ApiError(400, f"cannot hash the photo: {why}", code="unreadable")
        hashes["pdq"] = found.hashes["pdq"]
    resp: dict[str, list[str]] = {}
    for signal_type, hv in hashes.items():
        found_matches = await run_in_threadpool(
            _matches, services, principal.tenant, {signal_type: hv}
        )
        resp[signal_type] = _banks(found_matches)
    return resp
