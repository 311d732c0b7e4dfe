"""``/v1/screen/*``: text, images and chat messages in, a verdict out (scope ``screen``).

Every call is decided under the caller's tenant's active policy and recorded in its decision
log *before* the answer is sent (hashes and verdict only: the text or image is never stored
or logged). Screening is CPU work (hashing, models), so it runs in the thread pool and the
event loop keeps accepting requests.

Request ids: a caller that sends ``X-Request-ID`` gets it as the decision's key. Re-sending
the same id with the same content is a retry and is answered again (the log keeps the first
entry); the same id with *different* content is refused with 409, because the log would
otherwise silently keep only the first of two different decisions.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from childsafe.screening.base import ContentKind, ScreenRequest, ScreenVerdict, Source, Subject
from childsafe.web.bodies import read_upload, upload_openapi
from childsafe.web.deps import CanScreen, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses, request_id_of
from childsafe.web.requestid import HEADER
from childsafe.web.schemas import ID, NOT_BLANK, StrictIn, SubjectIn, VerdictOut
from childsafe.web.services import Services

router = APIRouter(
    prefix="/v1/screen",
    tags=["screening"],
    responses=error_responses(401, 403, 413, 422, 429, 503),
)

TextKind = Literal["prompt", "caption", "generated_text"]
ImageKind = Literal["image", "generated_image"]


class ScreenTextIn(StrictIn):
    kind: TextKind = Field(
        default="prompt", description="`prompt` (model input), `caption` or `generated_text`."
    )
    text: str = Field(
        min_length=1, pattern=NOT_BLANK, description="The text to screen; never stored or logged."
    )
    subject: SubjectIn = Field(default_factory=SubjectIn)


class ScreenMessageIn(StrictIn):
    """One chat message; messages of a conversation must be sent in order."""

    conversation_id: str = Field(min_length=1, max_length=256, pattern=NOT_BLANK)
    sender: str = Field(min_length=1, max_length=256, pattern=NOT_BLANK)
    recipient: str | None = ID
    message_id: str | None = ID
    user_id: str | None = ID
    text: str = Field(
        min_length=1, pattern=NOT_BLANK, description="The message text; never stored or logged."
    )


class ConversationEnded(StrictIn):
    conversation_id: str
    pairs_forgotten: int


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _check_reuse(services: Services, request: Request, tenant: str, sha256: str) -> None:
    """409 when the caller's own request id already keys a decision about other content."""
    rid = request_id_of(request)
    if request.headers.get(HEADER) != rid:
        return  # generated here: fresh by construction
    with domain_errors():
        earlier = services.store.decisions.get(tenant, rid, source=Source.API)
    if earlier is not None and earlier.content_sha256 != sha256:
        raise ApiError(
            409,
            f"request id {rid} already keys a decision about different content; "
            "send a fresh X-Request-ID",
            code="request_id_reused",
        )


def _screen(services: Services, request: ScreenRequest) -> Response:
    """Screen, and answer the verdict serialised once (validated against ``VerdictOut``, then
    dumped by pydantic's Rust serialiser): FastAPI would validate a returned model again."""
    with domain_errors():
        if request.kind == ContentKind.MESSAGE:
            verdict: ScreenVerdict = services.screener.screen_message(request)
        else:
            verdict = services.screener.screen(request)
    body = VerdictOut.model_validate(verdict.to_dict()).model_dump_json()
    return Response(body, media_type="application/json")


@router.post(
    "/text",
    summary="Screen a prompt, caption or generated text",
    response_model=VerdictOut,
    responses=error_responses(400, 409),
)
def screen_text(
    body: ScreenTextIn, request: Request, services: ServicesDep, principal: CanScreen
) -> Response:
    """Verdict `allow`, `review` or `block` for one text, with reasons, scores and the
    policy version. Text longer than the configured limit is screened on its prefix and the
    reasons say `text:truncated`."""
    _check_reuse(services, request, principal.tenant, _sha256_text(body.text))
    req = ScreenRequest(
        kind=ContentKind(body.kind),
        tenant=principal.tenant,
        text=body.text,
        subject=body.subject.to_subject(),
        request_id=request_id_of(request),
    )
    return _screen(services, req)


@router.post(
    "/image",
    summary="Screen an uploaded or generated image",
    response_model=VerdictOut,
    responses=error_responses(400, 409, 415),
    openapi_extra=upload_openapi(
        "The image: multipart form (field `file`) or the raw bytes "
        "(`Content-Type: application/octet-stream` or `image/*`). Never stored.",
    ),
)
async def screen_image(
    request: Request,
    services: ServicesDep,
    principal: CanScreen,
    kind: Annotated[
        ImageKind, Query(description="`image` (a user upload) or `generated_image`.")
    ] = "image",
    user_id: Annotated[str | None, Query(min_length=1, max_length=256, pattern=NOT_BLANK)] = None,
    content_id: Annotated[
        str | None, Query(min_length=1, max_length=256, pattern=NOT_BLANK)
    ] = None,
) -> Response:
    """Hashes the image, matches it against your banks and runs the policy's image
    classifiers. Bytes that are not a decodable image get the policy's `on_error` outcome
    (fail closed: review by default), not an error."""
    upload = await read_upload(request)
    chosen = ContentKind(kind)
    _check_reuse(services, request, principal.tenant, hashlib.sha256(upload.data).hexdigest())
    req = ScreenRequest(
        kind=chosen,
        tenant=principal.tenant,
        data=upload.data,
        subject=Subject(user_id=user_id, content_id=content_id),
        request_id=request_id_of(request),
    )
    return await run_in_threadpool(_screen, services, req)


@router.post(
    "/message",
    summary="Screen one chat message in its conversation",
    response_model=VerdictOut,
    responses=error_responses(400, 409),
)
def screen_message(
    body: ScreenMessageIn, request: Request, services: ServicesDep, principal: CanScreen
) -> Response:
    """The message's own text checks plus the running risk of its sender → recipient pair
    in the conversation (grooming patterns build up over many messages). Only scores are
    kept per pair, never the messages."""
    _check_reuse(services, request, principal.tenant, _sha256_text(body.text))
    subject = Subject(
        user_id=body.user_id,
        conversation_id=body.conversation_id,
        sender=body.sender,
        recipient=body.recipient,
        content_id=body.message_id,
    )
    req = ScreenRequest(
        kind=ContentKind.MESSAGE,
        tenant=principal.tenant,
        text=body.text,
        subject=subject,
        request_id=request_id_of(request),
    )
    return _screen(services, req)


@router.delete(
    "/conversations/{conversation_id}",
    summary="Forget a closed conversation's running risk",
    response_model=ConversationEnded,
)
def end_conversation(
    conversation_id: Annotated[str, Path(min_length=1, max_length=256)],
    services: ServicesDep,
    principal: CanScreen,
) -> ConversationEnded:
    """Drops the per-pair state kept for the conversation (scores, never text). Call it when
    a conversation closes; idle conversations are also evicted when the cap is reached."""
    with domain_errors():
        n = services.screener.end_conversation(principal.tenant, conversation_id)
    return ConversationEnded(conversation_id=conversation_id, pairs_forgotten=n)
