"""Exact transparency figures from a constructed history (worked out by hand below)."""

from __future__ import annotations

import builtins
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from tests.actions.history import T0, MemoryCases, upload, user

from childsafe.actions.base import Contribution, HashLedger
from childsafe.reporting.base import Destination, FiledReport, ReportState, ReportStore
from childsafe.review.base import CaseState, DetectionSource, Outcome
from childsafe.transparency.metrics import (
    TransparencyError,
    compute,
    percentile_nearest_rank,
    read_scan_summary,
)

H = timedelta(hours=1)
D = timedelta(days=1)
MARCH = (T0, T0 + 31 * D)


def history() -> MemoryCases:
    """Seven cases of ``default`` (and one of ``acme``):

    ==== ======= ======== ===================================== ======================
    case subject actioned items (source)                        decision
    ==== ======= ======== ===================================== ======================
    1    user u1 T0+2h    11 hash @T0, 12 classifier @T0+1h     case violation
    2    upload  T0+1d+6h 21 user report, 22 hotline @T0+1d(+1h) violation on 21 only
    3    user u3 -        31 classifier                         no violation
    4    user u1 Feb      41 hash                               violation; appeal
                                                                restored in March
    5    user u5 April    51 hash                               violation
    6    user u1 T0+10d   61 hash @T0+10d-12h                   violation
    7    user u7 T0+20d   71 hash @T0+20d-1h                    violation
    ==== ======= ======== ===================================== ======================

    Case 1's appeal is filed T0+3d and upheld T0+4d.
    """
    c = MemoryCases()
    v = Outcome.VIOLATION
    c.add_case(1, subject=user("u1"), state=CaseState.CLOSED, created=T0, actioned=T0 + 2 * H)
    c.add_item(1, 11, source=DetectionSource.HASH, added=T0)
    c.add_item(1, 12, source=DetectionSource.CLASSIFIER, added=T0 + H)
    c.decide(1, 100, v, T0 + 2 * H)
    c.appeal(1, 1, T0 + 3 * D, outcome="upheld", decided=T0 + 4 * D)

    c.add_case(
        2, subject=upload("up2"), state=CaseState.ACTIONED, created=T0 + D, actioned=T0 + D + 6 * H
    )
    c.add_item(2, 21, source=DetectionSource.USER_REPORT, added=T0 + D)
    c.add_item(2, 22, source=DetectionSource.HOTLINE_NOTICE, added=T0 + D + H)
    c.decide(2, 200, v, T0 + D + 6 * H, item_id=21)

    c.add_case(3, subject=user("u3"), state=CaseState.NO_VIOLATION, created=T0 + 3 * D)
    c.add_item(3, 31, source=DetectionSource.CLASSIFIER, added=T0 + 3 * D)
    c.decide(3, 300, Outcome.NO_VIOLATION, T0 + 3 * D + H)

    c.add_case(
        4, subject=user("u1"), state=CaseState.RESTORED, created=T0 - 10 * D, actioned=T0 - 9 * D
    )
    c.add_item(4, 41, source=DetectionSource.HASH, added=T0 - 10 * D)
    c.decide(4, 400, v, T0 - 9 * D)
    c.appeal(4, 2, T0 + 5 * D, outcome="restored", decided=T0 + 6 * D)

    c.add_case(
        5, subject=user("u5"), state=CaseState.ACTIONED, created=T0 + 30 * D, actioned=MARCH[1]
    )  # exactly at the end: April's
    c.add_item(5, 51, source=DetectionSource.HASH, added=T0 + 30 * D)
    c.decide(5, 500, v, MARCH[1])

    c.add_case(
        6,
        subject=user("u1"),
        state=CaseState.ACTIONED,
        created=T0 + 10 * D - 12 * H,
        actioned=T0 + 10 * D,
    )
    c.add_item(6, 61, source=DetectionSource.HASH, added=T0 + 10 * D - 12 * H)
    c.decide(6, 600, v, T0 + 10 * D)

    c.add_case(
        7,
        subject=user("u7"),
        state=CaseState.ACTIONED,
        created=T0 + 20 * D - H,
        actioned=T0 + 20 * D,
    )
    c.add_item(7, 71, source=DetectionSource.HASH, added=T0 + 20 * D - H)
    c.decide(7, 700, v, T0 + 20 * D)

    c.add_case(
        8, subject=user("x"), state=CaseState.ACTIONED, created=T0, actioned=T0 + H, tenant="acme"
    )
    c.add_item(8, 81, source=DetectionSource.USER_REPORT, added=T0)
    c.decide(8, 800, v, T0 + H)
    return c


class Reports(ReportStore):
    def __init__(self, reports: builtins.list[FiledReport]) -> None:
        self.reports = reports
        self.asked: builtins.list[tuple[datetime | None, datetime | None]] = []

    def get(self, tenant: str, report_id: int) -> FiledReport:
        raise NotImplementedError

    def for_case(self, tenant: str, case_id: int) -> builtins.list[FiledReport]:
        raise NotImplementedError

    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        state: ReportState | None = None,
    ) -> builtins.list[FiledReport]:
        self.asked.append((since, until))
        return [r for r in self.reports if r.tenant == tenant]


def _report(n: int, dest: Destination, state: ReportState, env: str, files: int) -> FiledReport:
    return FiledReport(n, "default", n, dest, env, state, f"r{n}", files, T0, T0)


class Ledger(HashLedger):
    def __init__(self) -> None:
        self.asked: builtins.list[tuple[str, datetime | None, datetime | None]] = []

    def record(self, contributions: object) -> int:
        raise NotImplementedError

    def release(self, tenant: str, bank: str, case_id: int, *, now: datetime) -> builtins.list:
        raise NotImplementedError

    def contributed(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        self.asked.append((tenant, since, until))
        return 9

    def for_case(self, tenant: str, case_id: int) -> builtins.list[Contribution]:
        raise NotImplementedError


class Verdicts:
    def count_by(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[tuple[str, str, str], int]:
        assert (since, until) == MARCH
        return {
            ("api", "text", "allow"): 10,
            ("api", "image", "block"): 2,
            ("api", "text", "block"): 1,
            ("guard", "text", "review"): 3,
        }


def _summary(total: int, quarantined: int, error: int = 0) -> dict[str, object]:
    items = {"total": total, "quarantined": quarantined, "error": error}
    return {"format": "childsafe-scan-summary/1", "items": items}


def test_figures_of_the_constructed_history() -> None:
    reports = Reports(
        [
            _report(1, Destination.NCMEC, ReportState.FINISHED, "production", 2),
            _report(2, Destination.NCMEC, ReportState.FINISHED, "test", 5),  # never counted
            _report(3, Destination.C3P, ReportState.EXPORTED, "export", 1),
            _report(4, Destination.NCMEC, ReportState.FAILED, "production", 1),
            _report(5, Destination.NCA, ReportState.RETRACTED, "export", 1),
        ]
    )
    ledger = Ledger()
    r = compute(
        "default",
        *MARCH,
        cases=history(),
        reports=reports,
        ledger=ledger,
        decisions=Verdicts(),
        scan_summaries=[_summary(1000, 7, 2), _summary(500, 0)],
        now=T0 + 40 * D,
    )
    assert r.cases_opened == 6  # 1, 2, 3, 5 (actioned in April), 6, 7
    assert r.cases_actioned == 4  # 1, 2, 6, 7
    assert r.content_actioned == 5  # 11, 12, 21, 61, 71
    assert r.accounts_actioned == 2  # u1 (three cases), u7; the upload is no account
    assert r.detection_sources == {
        "hash": 3,
        "classifier": 1,
        "user_report": 1,
        "hotline_notice": 0,  # item 22 was never confirmed
        "dataset_scan": 0,
        "model_scan": 0,
    }
    assert r.proactive_rate == pytest.approx(4 / 5)
    assert r.time_to_action_median_s == 4 * 3600  # of 1h, 2h, 6h, 12h
    assert r.time_to_action_p90_s == 12 * 3600
    assert (r.appeals_filed, r.appeals_restored, r.appeals_upheld) == (2, 1, 1)
    assert (r.reports_filed, r.files_reported) == (2, 3)
    assert r.reports_by_destination == {"c3p": 1, "ncmec": 1}
    assert r.reports_by_state == {"exported": 1, "failed": 1, "finished": 1, "retracted": 1}
    assert reports.asked == [MARCH]
    assert r.hashes_contributed == 9 and ledger.asked == [("default", *MARCH)]
    assert (r.dataset.scans, r.dataset.scanned, r.dataset.removed, r.dataset.errors) == (
        2,
        1500,
        7,
        2,
    )
    assert r.verdicts == {"allow": 10, "block": 3, "review": 3}
    assert r.verdicts_by_source == {"api": {"allow": 10, "block": 3}, "guard": {"review": 3}}
    assert "not the prevalence" in r.caveats[0]


def test_other_tenants_and_periods() -> None:
    acme = compute("acme", *MARCH, cases=history())
    assert (acme.cases_actioned, acme.content_actioned, acme.proactive_rate) == (1, 1, 0.0)
    assert acme.reports_filed is None and acme.hashes_contributed is None  # not measured
    assert acme.verdicts is None
    april = compute("default", MARCH[1], MARCH[1] + 30 * D, cases=history())
    assert april.cases_actioned == 1 and april.time_to_action_median_s == 24 * 3600
    assert april.appeals_filed == 0
    february = compute("default", T0 - 28 * D, T0, cases=history())
    assert february.cases_actioned == 1 and february.appeals_restored == 0


def test_empty_period_has_no_rates() -> None:
    r = compute("default", T0 + 100 * D, T0 + 101 * D, cases=history())
    assert (r.cases_actioned, r.content_actioned, r.accounts_actioned) == (0, 0, 0)
    assert r.proactive_rate is None and r.time_to_action_median_s is None
    assert r.time_to_action_p90_s is None


def test_bounds_in_another_zone_are_the_same_instants() -> None:
    plus2 = timezone(timedelta(hours=2))
    r = compute(
        "default",
        MARCH[0].astimezone(plus2),
        MARCH[1].astimezone(plus2),
        cases=history(),
    )
    assert r.since == MARCH[0] and r.since.tzinfo == UTC and r.cases_actioned == 4


def test_bad_periods_are_refused() -> None:
    with pytest.raises(TransparencyError, match="timezone-aware"):
        compute("default", datetime(2026, 3, 1), datetime(2026, 4, 1), cases=MemoryCases())
    with pytest.raises(TransparencyError, match="empty period"):
        compute("default", MARCH[1], MARCH[0], cases=MemoryCases())


def test_every_case_is_read_across_pages() -> None:
    cases = MemoryCases()
    for n in range(1, 451):
        cases.add_case(
            n,
            subject=user(f"u{n % 7}"),
            state=CaseState.ACTIONED,
            created=T0,
            actioned=T0 + n * timedelta(minutes=1),
        )
        cases.add_item(n, n, source=DetectionSource.HASH, added=T0)
        cases.decide(n, n, Outcome.VIOLATION, T0)
    r = compute("default", *MARCH, cases=cases)
    assert r.cases_actioned == 450 and r.accounts_actioned == 7
    assert cases.list_calls == 3
    assert r.time_to_action_p90_s == 405 * 60  # ceil(0.9 * 450) = 405th
    assert r.time_to_action_median_s == 225.5 * 60


def test_percentile_nearest_rank() -> None:
    assert percentile_nearest_rank([], 90) is None
    assert percentile_nearest_rank([5.0], 90) == 5.0
    assert percentile_nearest_rank([float(i) for i in range(1, 11)], 90) == 9.0
    assert percentile_nearest_rank([3.0, 1.0, 2.0], 50) == 2.0


def test_scan_summaries_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "summary.json"
    good.write_text(json.dumps(_summary(3, 1)), encoding="utf-8")
    assert read_scan_summary(good)["items"]["total"] == 3
    cases = {
        "missing.json": None,
        "bad.json": "{not json",
        "latin1.json": b"\xff\xfe\x00",
        "other.json": json.dumps({"format": "something-else"}),
        "negative.json": json.dumps(_summary(-1, 0)),
        "list.json": "[1, 2]",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
        with pytest.raises(TransparencyError, match=name):
            read_scan_summary(path)
