"""Leads' appeals, the auditors' read-only audit log, and the admins' reviewer list.

Appeals are decided by leads only (never the reviewer whose decision is appealed: the
store's rule). The audit view is read-only by construction: it has no POST route, and its
"verify chain" is a GET that recomputes hashes and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from childsafe.review.base import Appeal, CaseFilter, CaseState, Role
from childsafe.web.console.deps import AdminUser, AuditReader, ConsoleDep, LeadUser, check_csrf
from childsafe.web.console.pages import BadForm, free_text
from childsafe.web.console.render import base_path, render

router = APIRouter()
AUDIT_PAGE = 100


@router.get("/appeals")
def appeals(request: Request, user: LeadUser, console: ConsoleDep) -> Response:
    cases = console.cases.list(
        user.tenant, CaseFilter(states=frozenset({CaseState.APPEALED}), limit=200)
    )
    pending: list[tuple[int, Appeal]] = []
    for case in cases:
        pending += [
            (case.id, a) for a in console.cases.appeals(user.tenant, case.id) if a.outcome is None
        ]
    return render(request, "appeals.html", user, title="Appeals", pending=pending)


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    request: Request,
    appeal_id: int,
    user: LeadUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
    restore: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(console, user, csrf)
    if restore not in ("yes", "no"):
        raise BadForm("restore: choose 'uphold' or 'restore'")
    text = free_text("note", note)
    console.desk.decide_appeal(
        user.tenant, appeal_id, user.name, restore=restore == "yes", note=text
    )
    return RedirectResponse(f"{base_path(request)}/appeals?notice=appeal", status_code=303)


@router.get("/audit")
def audit(
    request: Request,
    user: AuditReader,
    console: ConsoleDep,
    after: int = 0,
    verify: bool = False,
) -> Response:
    entries = console.audit.entries(user.tenant, after_seq=max(0, after), limit=AUDIT_PAGE)
    check = console.audit.verify() if verify else None
    return render(
        request,
        "audit.html",
        user,
        title="Audit log",
        entries=entries,
        after=after,
        next_after=entries[-1].seq if len(entries) == AUDIT_PAGE else None,
        check=check,
    )


@router.get("/reviewers")
def reviewers(request: Request, user: AdminUser, console: ConsoleDep) -> Response:
    return render(
        request,
        "reviewers.html",
        user,
        title="Reviewers",
        reviewers=console.cases.reviewers(user.tenant),
        roles=[r.value for r in Role],
        default_limit=console.settings.reviewer_daily_reveals,
    )


@router.post("/reviewers")
def add_reviewer(
    request: Request,
    user: AdminUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    daily_reveal_limit: Annotated[str, Form(max_length=10)] = "",
    metadata_only: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(console, user, csrf)
    try:
        new_role = Role(role)
    except ValueError:
        raise BadForm(f"role: {role[:20]!r} is not one of {[r.value for r in Role]}") from None
    limit = daily_reveal_limit.strip()
    if limit and not limit.isdigit():
        raise BadForm(f"daily reveal limit: {limit!r} is not a whole number")
    console.cases.add_reviewer(
        user.tenant,
        username.strip(),
        new_role,
        password,
        display_name=free_text("display name", display_name, 200) or "",
        daily_reveal_limit=int(limit) if limit else None,
        metadata_only=metadata_only in ("on", "true", "1"),
        actor=user.actor,
    )
    return RedirectResponse(f"{base_path(request)}/reviewers?notice=reviewer", status_code=303)
