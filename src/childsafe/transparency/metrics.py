"""The figures of a transparency report for one tenant and period, computed from the record.

Every figure is counted from what the stores hold (cases, decisions, appeals, filed reports,
the hash ledger, the decision log) and the scan summaries given, never estimated. Choices
that change a number, and why:

* **Period** is half-open, ``since <= t < until``, in UTC, so consecutive periods neither
  overlap nor leave gaps. A case counts as actioned in the period its ``actioned_at`` falls
  in; an appeal is *filed* when ``filed_at`` falls in it, *restored*/*upheld* when
  ``decided_at`` does (as Meta's enforcement report counts appeals and restorations).
* **Content actioned** is the items a reviewer confirmed (their latest decision, their own
  or a whole-case one, is a violation), not every item of an actioned case.
* **Accounts actioned** is the distinct user subjects of actioned cases.
* **Detection source** is counted over the content actioned, by each item's source.
  **Proactive rate** = actioned items *not* found through someone else's notice (a user
  report or a hotline notice) / all actioned items. A hotline notice is counted as reactive:
  like a user report, it is someone outside telling the platform what it missed.
* **Time to action** runs from the case's first finding (its earliest item ``added_at``) to
  ``actioned_at``. Median is the usual middle (mean of the two middle values for an even
  count); p90 is nearest-rank (the smallest value with at least 90% at or below it), so it
  is always a time that really happened.
* **Reports** are the period's reports (by ``created_at``) that reached the hotline:
  ``finished`` through an API, or ``exported`` for a hotline without one. Reports to a test
  environment are never counted; in-flight, failed and retracted ones are listed by state
  but not as filed. **Files** is the sum of filed reports' file counts (one report can carry
  several files, which is why both are published).
* **Hashes contributed** is distinct hashes first confirmed into the re-upload bank in the
  period (the ledger), i.e. made available for sharing.
* **Dataset items** come from the scan ``summary.json`` files passed in: scanned = items
  total, removed = items quarantined (blocked + sent to review), never the removal list
  (which carries decoys).

Counts measure *reporting and enforcement*, not prevalence: more reports can mean better
detection as easily as more abuse (NCMEC says the same of CyberTipline figures).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from childsafe.actions.base import CaseReader, HashLedger
from childsafe.actions.reupload import confirmed_items
from childsafe.errors import ChildsafeError
from childsafe.reporting.base import ReportState, ReportStore
from childsafe.review.base import Case, CaseFilter, DetectionSource, SubjectKind

PAGE = 200
FILED_STATES = frozenset({ReportState.FINISHED, ReportState.EXPORTED})
REAL_ENVIRONMENTS = frozenset({"production", "export"})
REACTIVE = frozenset({DetectionSource.USER_REPORT, DetectionSource.HOTLINE_NOTICE})
SCAN_FORMAT = "childsafe-scan-summary/1"
CAVEAT = (
    "These counts measure detection, reporting and enforcement, not the prevalence of abuse: "
    "a rise can mean better detection as much as more harm. One report can cover several "
    "files, and a case is counted in the period it was actioned."
)


class TransparencyError(ChildsafeError):
    """Inputs a transparency report cannot be computed from (a bad period, an unreadable
    scan summary); the message names the input."""


class VerdictCounter(Protocol):
    """The decision log's aggregate query (``SqlDecisionLog.count_by``)."""

    def count_by(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[tuple[str, str, str], int]: ...


@dataclass(frozen=True, slots=True)
class Practices:
    """The Policies & Practices and Processes & Systems facts (configuration, not counts)."""

    policy_versions: tuple[str, ...] = ()  # "default v3 (active since 2026-01-02)"
    destinations: tuple[str, ...] = ()  # hotlines reports go to
    evidence_retention_days: int = 365
    review_media_retention_days: int = 30
    detection_methods: tuple[str, ...] = ()  # "hash matching (banks: confirmed, ncmec)", ...
    second_review: bool = True
    daily_reveal_limit: int = 50
    wellness: tuple[str, ...] = (
        "media blurred and greyscale until a reviewer deliberately reveals it",
        "every reveal recorded (file and EXIF separately)",
        "per-reviewer daily exposure limit",
        "review by hash and metadata only, for reviewers who opt in",
    )


@dataclass(frozen=True, slots=True)
class ScanFigures:
    scans: int = 0
    scanned: int = 0
    removed: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    """A period's figures; ``None`` means "not measured" (no such source), never zero."""

    tenant: str
    since: datetime
    until: datetime
    generated_at: datetime
    cases_opened: int
    cases_actioned: int
    content_actioned: int
    accounts_actioned: int
    detection_sources: Mapping[str, int]
    proactive_rate: float | None
    time_to_action_median_s: float | None
    time_to_action_p90_s: float | None
    appeals_filed: int
    appeals_restored: int
    appeals_upheld: int
    reports_filed: int | None
    files_reported: int | None
    reports_by_destination: Mapping[str, int]
    reports_by_state: Mapping[str, int]
    hashes_contributed: int | None
    dataset: ScanFigures
    verdicts: Mapping[str, int] | None
    verdicts_by_source: Mapping[str, Mapping[str, int]] | None
    practices: Practices = field(default_factory=Practices)
    caveats: tuple[str, ...] = (CAVEAT,)


def _in(t: datetime | None, since: datetime, until: datetime) -> bool:
    return t is not None and since <= t.astimezone(UTC) < until


def percentile_nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The smallest value with at least ``p`` percent of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def all_cases(cases: CaseReader, tenant: str) -> Iterator[Case]:
    """Every case of the tenant, page by page (the store caps one page)."""
    offset = 0
    while True:
        page = cases.list(tenant, CaseFilter(limit=PAGE, offset=offset))
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def read_scan_summary(path: Path) -> Mapping[str, Any]:
    """A scan's ``summary.json``; a clear error naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TransparencyError(f"{path}: cannot read scan summary: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TransparencyError(f"{path}: not a JSON scan summary: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SCAN_FORMAT:
        raise TransparencyError(f"{path}: not a childsafe scan summary (want {SCAN_FORMAT})")
    items = data.get("items")
    if not isinstance(items, dict) or not all(
        isinstance(items.get(k), int) and items[k] >= 0 for k in ("total", "quarantined")
    ):
        raise TransparencyError(f"{path}: scan summary has no valid items.total/quarantined")
    return data


def scan_figures(summaries: Sequence[Mapping[str, Any]]) -> ScanFigures:
    scanned = sum(int(s["items"]["total"]) for s in summaries)
    removed = sum(int(s["items"]["quarantined"]) for s in summaries)
    errors = sum(int(s["items"].get("error", 0)) for s in summaries)
    return ScanFigures(len(summaries), scanned, removed, errors)


@dataclass
class _Tally:
    opened: int = 0
    actioned: int = 0
    content: int = 0
    accounts: set[str] = field(default_factory=set)
    sources: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    appeals_filed: int = 0
    restored: int = 0
    upheld: int = 0


def _case_figures(cases: CaseReader, tenant: str, since: datetime, until: datetime) -> _Tally:
    t = _Tally()
    for case in all_cases(cases, tenant):
        if _in(case.created_at, since, until):
            t.opened += 1
        if case.updated_at.astimezone(UTC) >= since:  # an appeal in the period touched it
            for appeal in cases.appeals(tenant, case.id):
                t.appeals_filed += _in(appeal.filed_at, since, until)
                if _in(appeal.decided_at, since, until):
                    t.restored += appeal.outcome == "restored"
                    t.upheld += appeal.outcome == "upheld"
        if not _in(case.actioned_at, since, until):
            continue
        assert case.actioned_at is not None
        items = cases.items(tenant, case.id)
        confirmed = confirmed_items(items, cases.decisions(tenant, case.id))
        t.actioned += 1
        t.content += len(confirmed)
        t.sources.update(item.source.value for item, _ in confirmed)
        if case.subject.kind is SubjectKind.USER:
            t.accounts.add(case.subject.id)
        first = min((i.added_at for i in items), default=case.created_at)
        t.durations.append(max(0.0, (case.actioned_at - first).total_seconds()))
    return t


def compute(
    tenant: str,
    since: datetime,
    until: datetime,
    *,
    cases: CaseReader,
    reports: ReportStore | None = None,
    ledger: HashLedger | None = None,
    decisions: VerdictCounter | None = None,
    scan_summaries: Sequence[Mapping[str, Any]] = (),
    practices: Practices | None = None,
    now: datetime | None = None,
) -> TransparencyReport:
    """The report for ``tenant`` over ``since <= t < until`` (aware datetimes, any zone)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise TransparencyError("the period's bounds must be timezone-aware (UTC)")
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    if until <= since:
        raise TransparencyError(f"empty period: {since.isoformat()} is not before {until}")
    t = _case_figures(cases, tenant, since, until)
    sources = {s.value: t.sources.get(s.value, 0) for s in DetectionSource}
    reactive = sum(sources[s.value] for s in REACTIVE)
    filed = [
        r
        for r in (reports.list(tenant, since=since, until=until) if reports else [])
        if r.environment in REAL_ENVIRONMENTS
    ]
    done = [r for r in filed if r.state in FILED_STATES]
    verdicts = by_source = None
    if decisions is not None:
        counts = decisions.count_by(tenant, since=since, until=until)
        v: Counter[str] = Counter()
        bs: dict[str, Counter[str]] = {}
        for (source, _kind, verdict), n in counts.items():
            v[verdict] += n
            bs.setdefault(source, Counter())[verdict] += n
        verdicts = dict(sorted(v.items()))
        by_source = {s: dict(sorted(c.items())) for s, c in sorted(bs.items())}
    return TransparencyReport(
        tenant=tenant,
        since=since,
        until=until,
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
        cases_opened=t.opened,
        cases_actioned=t.actioned,
        content_actioned=t.content,
        accounts_actioned=len(t.accounts),
        detection_sources=sources,
        proactive_rate=(t.content - reactive) / t.content if t.content else None,
        time_to_action_median_s=statistics.median(t.durations) if t.durations else None,
        time_to_action_p90_s=percentile_nearest_rank(t.durations, 90),
        appeals_filed=t.appeals_filed,
        appeals_restored=t.restored,
        appeals_upheld=t.upheld,
        reports_filed=len(done) if reports else None,
        files_reported=sum(r.file_count for r in done) if reports else None,
        reports_by_destination=dict(sorted(Counter(r.destination.value for r in done).items())),
        reports_by_state=dict(sorted(Counter(r.state.value for r in filed).items())),
        hashes_contributed=(
            ledger.contributed(tenant, since=since, until=until) if ledger else None
        ),
        dataset=scan_figures(scan_summaries),
        verdicts=verdicts,
        verdicts_by_source=by_source,
        practices=practices or Practices(),
    )
