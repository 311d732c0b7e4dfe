"""Service levels: how long a case may wait for its first decision, by priority.

The hours come from ``Settings.sla_hours`` keyed by the priority as a string ("1".."4"),
because environment variables and JSON settings files have string keys. Every priority
must have a positive figure: a missing one would leave cases with no deadline at all, so
it is refused when the store is built rather than discovered when a case is late.

When a more urgent item joins a case, the case's deadline becomes the earlier of its old
deadline and the new item's own (arrival + the hours of its priority): a known-hash match
arriving on a week-old user-report case is due within the hour, but a deadline never moves
later because something was added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from childsafe.errors import ConfigError
from childsafe.review.base import OPEN_STATES, Case, CasePriority


def sla_hours(configured: Mapping[str, float]) -> dict[CasePriority, float]:
    """Hours per priority from ``Settings.sla_hours``; ``ConfigError`` naming a bad entry."""
    out: dict[CasePriority, float] = {}
    for p in CasePriority:
        value = configured.get(str(int(p)))
        if value is None:
            raise ConfigError(f"CHILDSAFE_SLA_HOURS has no entry for priority {int(p)}")
        hours = float(value)
        if not math.isfinite(hours) or hours <= 0:
            raise ConfigError(f"CHILDSAFE_SLA_HOURS[{int(p)}] must be positive, not {value!r}")
        out[p] = hours
    return out


def due_at(
    priority: CasePriority, start: datetime, hours: Mapping[CasePriority, float]
) -> datetime:
    """When a case of ``priority`` that arrived at ``start`` needs its first decision."""
    return start + timedelta(hours=hours[CasePriority(priority)])


def tightened(
    current: datetime, priority: CasePriority, now: datetime, hours: Mapping[CasePriority, float]
) -> datetime:
    """The deadline after an item of ``priority`` arrives ``now`` (never later than before)."""
    return min(current, due_at(priority, now, hours))


def overdue(case: Case, now: datetime) -> bool:
    """Still waiting on someone and past its deadline."""
    return case.state in OPEN_STATES and now > case.due_at


def time_left(case: Case, now: datetime) -> timedelta | None:
    """Time to the deadline (negative when late); None once the case left the queue."""
    return case.due_at - now if case.state in OPEN_STATES else None
