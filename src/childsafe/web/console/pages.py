"""The reviewer's pages: queue, next case, case view, decision, release, metadata-only toggle.

Who sees what: a reviewer sees the queue (metadata only: priority, subject kind, SLA) and
opens the cases assigned to them or that they decided; leads and admins open any case of
their tenant; auditors open any case read-only and never see media or a decision form.
Claiming goes through ``CaseStore.claim_next`` (atomic: two reviewers pressing "next case"
at once never get the same case), so the queue has no per-case claim button for reviewers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from childsafe.errors import ContentTooLarge, CorruptContent
from childsafe.review.base import (
    OPEN_STATES,
    REASON_CODES,
    Case,
    CaseFilter,
    CaseItem,
    CaseState,
    IndustryClass,
    Outcome,
    Role,
)
from childsafe.web.console.auth import User
from childsafe.web.console.deps import (
    AnyUser,
    ConsoleDep,
    Forbidden,
    LeadUser,
    ReviewingUser,
    check_csrf,
)
from childsafe.web.console.media import IMAGE_KINDS, TEXT_KINDS, exif_fields, read_content
from childsafe.web.console.render import base_path, render
from childsafe.web.console.services import ConsoleServices

router = APIRouter()

MAX_NOTE = 2000
MAX_TEXT_SHOWN = 20_000
QUEUE_STATES = frozenset({CaseState.OPEN, CaseState.IN_REVIEW, CaseState.SECOND_REVIEW})


class BadForm(Exception):
    """A form value the console does not accept (400 page naming the field)."""


def _go(request: Request, path: str, notice: str | None = None) -> Response:
    url = f"{base_path(request)}{path}"
    if notice:
        url += f"?notice={notice}"
    return RedirectResponse(url, status_code=303)


def _exposure(console: ConsoleServices, user: User) -> Any:
    if user.role == Role.AUDITOR:
        return None
    return console.cases.exposure(user.tenant, user.name)


@router.get("/")
def home(request: Request, user: AnyUser) -> Response:
    return _go(request, "/audit" if user.role == Role.AUDITOR else "/queue")


@router.get("/queue")
def queue(request: Request, user: AnyUser, console: ConsoleDep) -> Response:
    cases = console.cases.list(user.tenant, CaseFilter(states=QUEUE_STATES, limit=200))
    mine = [c for c in cases if c.assignee == user.name]
    return render(
        request,
        "queue.html",
        user,
        title="Queue",
        cases=cases,
        mine=mine,
        exposure=_exposure(console, user),
    )


@router.get("/escalated")
def escalated(request: Request, user: LeadUser, console: ConsoleDep) -> Response:
    cases = console.cases.list(
        user.tenant, CaseFilter(states=frozenset({CaseState.ESCALATED}), limit=200)
    )
    return render(request, "escalated.html", user, title="Escalated", cases=cases)


@router.post("/next")
def next_case(
    request: Request,
    user: ReviewingUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(console, user, csrf)
    case = console.cases.claim_next(user.tenant, user.name)
    if case is None:
        return _go(request, "/queue", "empty")
    return _go(request, f"/cases/{case.id}", "claimed")


def _may_view(console: ConsoleServices, user: User, case: Case) -> bool:
    if user.role != Role.REVIEWER or case.assignee == user.name:
        return True
    return any(d.reviewer == user.name for d in console.cases.decisions(user.tenant, case.id))


def _shown(
    console: ConsoleServices, user: User, items: list[CaseItem], token: str | None
) -> dict[str, Any] | None:
    """What a fresh reveal grant shows on this page (the original, its text or its EXIF)."""
    grant = console.signer.check_grant(user.session, token)
    if grant is None or user.metadata_only:
        return None
    item = next((i for i in items if i.id == grant[0]), None)
    if item is None or item.evidence_id is None:
        return None
    shown: dict[str, Any] = {"item_id": item.id, "what": grant[1], "token": token}
    if grant[1] == "file" and item.kind in IMAGE_KINDS:
        shown["image"] = True
        return shown
    data = read_content(console, user, item)
    if grant[1] == "file":
        if item.kind in TEXT_KINDS:
            shown["text"] = data[:MAX_TEXT_SHOWN].decode("utf-8", errors="replace")
        else:
            shown["problem"] = f"no viewer for {item.kind!r} items: use the hashes"
        return shown
    try:
        shown["exif"] = exif_fields(data, console.settings.max_image_pixels)
    except (CorruptContent, ContentTooLarge) as exc:
        shown["problem"] = str(exc)
    return shown


@router.get("/cases/{case_id}")
def case_view(
    request: Request,
    case_id: int,
    user: AnyUser,
    console: ConsoleDep,
    show: str | None = None,
) -> Response:
    case = console.cases.get(user.tenant, case_id)
    if not _may_view(console, user, case):
        raise Forbidden(f"case {case_id} is not assigned to you")
    items = console.cases.items(user.tenant, case_id)
    decisions = console.cases.decisions(user.tenant, case_id)
    reveals = {i.id: console.cases.reveals(user.tenant, i.id) for i in items}
    mine = case.assignee == user.name
    media = not user.metadata_only and (mine or user.role in (Role.LEAD, Role.ADMIN))
    shown = _shown(console, user, items, show) if media else None
    first = [d for d in decisions if not d.second_review and d.outcome == Outcome.VIOLATION]
    return render(
        request,
        "case.html",
        user,
        title=f"Case {case.id}",
        case=case,
        items=items,
        decisions=decisions,
        reveals=reveals,
        appeals=console.cases.appeals(user.tenant, case_id),
        media=media,
        image_kinds=IMAGE_KINDS,
        shown=shown,
        may_decide=mine and user.role != Role.AUDITOR and case.state in OPEN_STATES,
        may_claim=user.role in (Role.LEAD, Role.ADMIN) and not mine and case.state in OPEN_STATES,
        second_review=case.state == CaseState.SECOND_REVIEW,
        first_decision=first[-1] if first else None,
        exposure=_exposure(console, user),
        reason_codes=REASON_CODES,
        industry_classes=[c.value for c in IndustryClass],
        outcomes=[o.value for o in Outcome],
    )


@router.post("/cases/{case_id}/claim")
def claim(
    request: Request,
    case_id: int,
    user: LeadUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Leads take a specific case (an escalated one, or one they reassign to themselves)."""
    check_csrf(console, user, csrf)
    console.cases.claim(user.tenant, case_id, user.name)
    return _go(request, f"/cases/{case_id}", "claimed")


@router.post("/cases/{case_id}/release")
def release(
    request: Request,
    case_id: int,
    user: ReviewingUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(console, user, csrf)
    console.cases.release(user.tenant, case_id, user.name)
    return _go(request, "/queue", "released")


def free_text(name: str, value: str, limit: int = MAX_NOTE) -> str | None:
    """A note or name as typed (trimmed; None when empty); ``BadForm`` when too long or
    carrying control characters other than line breaks and tabs (PostgreSQL refuses NUL)."""
    if len(value) > limit:
        raise BadForm(f"{name}: {len(value)} characters, at most {limit}")
    if any((ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 for ch in value):
        raise BadForm(f"{name}: contains control characters")
    return value.strip() or None


def _choice(name: str, value: str, allowed: Any) -> Any:
    try:
        return allowed(value)
    except ValueError:
        raise BadForm(f"{name}: {value[:40]!r} is not one of the offered choices") from None


@router.post("/cases/{case_id}/decide")
def decide(
    request: Request,
    case_id: int,
    user: ReviewingUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    reason_code: Annotated[str, Form()] = "",
    industry_class: Annotated[str, Form()] = "",
    generative_ai: Annotated[str, Form()] = "",
    item_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(console, user, csrf)
    result: Outcome = _choice("outcome", outcome, Outcome)
    if reason_code not in REASON_CODES:
        raise BadForm(f"reason code: {reason_code[:40]!r} is not one of the offered codes")
    klass: IndustryClass | None = (
        _choice("industry classification", industry_class, IndustryClass)
        if industry_class
        else None
    )
    if item_id and not item_id.isdigit():
        raise BadForm(f"item: {item_id[:20]!r} is not an item id")
    text = free_text("note", note)
    console.desk.decide(
        user.tenant,
        case_id,
        user.name,
        outcome=result,
        reason_code=reason_code,
        item_id=int(item_id) if item_id else None,
        industry_class=klass,
        generative_ai=generative_ai in ("on", "true", "1"),
        note=text,
    )
    return _go(request, "/queue", "decided")


@router.post("/session/metadata-only")
def metadata_only(
    request: Request,
    user: AnyUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "",
) -> Response:
    """This session's own "review by hash/metadata only" switch (on top of the account's)."""
    check_csrf(console, user, csrf)
    enabled = on in ("on", "true", "1")
    session = console.signer.with_metadata_only(user.session, enabled)
    response = _go(request, "/queue", "mo_on" if enabled else "mo_off")
    console.signer.set_cookie(response, session, base_path(request) or "/")
    return response
