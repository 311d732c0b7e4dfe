"""Templates and the small formatting helpers they use (SLA countdowns, timestamps).

Jinja2 autoescapes every ``.html`` template, so a subject id, a note or an EXIF value can
never inject markup. Notices after a redirect are codes from :data:`NOTICES`, never text from
the query string, so a link cannot make the console say something it did not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from childsafe.web.console.auth import User

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NOTICES = {
    "empty": "The queue is empty: no case is waiting for you.",
    "decided": "Decision recorded.",
    "released": "Case released back to the queue.",
    "appeal": "Appeal decided.",
    "reviewer": "Reviewer added.",
    "mo_on": "This session now reviews by hash and metadata only.",
    "mo_off": "Media thumbnails are shown again (blurred and greyscale).",
    "claimed": "Case claimed.",
}


def base_path(request: Request) -> str:
    """Where the console is mounted (``/console``, or below a proxy's root path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def duration(seconds: float) -> str:
    """``2 h 05 min`` / ``35 min`` / ``3 d 4 h``: short enough for a queue column."""
    s = int(abs(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def sla(due: datetime, now: datetime) -> dict[str, Any]:
    """What a queue row shows about its deadline (the JS ticks ``due`` down)."""
    left = (due - now).total_seconds()
    return {
        "overdue": left < 0,
        "text": f"overdue by {duration(left)}" if left < 0 else f"due in {duration(left)}",
        "iso": due.astimezone(UTC).isoformat(timespec="seconds"),
    }


def stamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["stamp"] = stamp


def render(
    request: Request,
    name: str,
    user: User | None = None,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    ctx = {
        "base": base_path(request),
        "user": user,
        "csrf": user.csrf if user is not None else "",
        "now": datetime.now(UTC),
        "notice": notice,
        "sla": sla,
        **context,
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status)
