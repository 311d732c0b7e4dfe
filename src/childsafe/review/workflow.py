"""Orchestration: feed findings from a source into a :class:`CaseStore`, idempotently.

Idempotence comes from the findings' ``dedupe_key``s, so these loops keep no cursor of their
own: running one twice over the same window adds nothing the second time, and a run that
died half-way is simply run again. A finding the store refuses (a malformed row) is a
result in ``errors``, never an abort: the rest still become cases (nothing lost).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from childsafe.errors import ChildsafeError
from childsafe.review.base import CaseStore, Finding
from childsafe.review.intake import from_decision, from_scan_row
from childsafe.screening.base import DecisionLog

MAX_DECISIONS = 10_000


@dataclass(slots=True)
class IntakeResult:
    """What one intake run did: findings handed to the store, the cases they landed in,
    and per-input errors as ``(input id, message)``."""

    findings: int = 0
    cases: set[int] = field(default_factory=set)
    items: set[int] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "cases": sorted(self.cases),
            "items": len(self.items),
            "errors": [{"input": i, "error": e} for i, e in self.errors],
        }


def feed(
    store: CaseStore,
    inputs: Iterable[tuple[str, Callable[[], Finding]]],
    *,
    actor: str,
    result: IntakeResult | None = None,
) -> IntakeResult:
    """Build each finding and add it; a failure to build or add is recorded, not raised."""
    out = result if result is not None else IntakeResult()
    for name, build in inputs:
        try:
            case, item = store.add_finding(build(), actor=actor)
        except (ChildsafeError, ValueError, TypeError, KeyError) as exc:
            out.errors.append((name, str(exc) or type(exc).__name__))
            continue
        out.findings += 1
        out.cases.add(case.id)
        out.items.add(item.id)
    return out


def intake_decisions(
    log: DecisionLog,
    store: CaseStore,
    tenant: str,
    *,
    since: datetime | None = None,
    confirmed: Collection[str] | None = None,
    actor: str = "system:intake",
) -> IntakeResult:
    """Cases for the tenant's decision-log entries that asked for one (``create_case``)."""
    entries = [e for e in log.list(tenant, since=since, limit=MAX_DECISIONS) if e.create_case]
    entries.reverse()  # oldest first: items keep the order things happened in
    inputs = ((e.request_id, partial(from_decision, e, confirmed=confirmed)) for e in entries)
    return feed(store, inputs, actor=actor)


def intake_scan_rows(
    rows: Iterable[dict[str, Any]],
    store: CaseStore,
    tenant: str,
    *,
    confirmed: Collection[str] | None = None,
    actor: str = "system:intake",
    result: IntakeResult | None = None,
) -> IntakeResult:
    """Cases for a dataset scan's quarantined rows (one case per dataset source)."""
    build = partial(from_scan_row, tenant=tenant, confirmed=confirmed)
    inputs = ((str(r.get("item_id")), partial(build, r)) for r in rows)
    return feed(store, inputs, actor=actor, result=result)
