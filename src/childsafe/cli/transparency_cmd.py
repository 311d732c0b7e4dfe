"""``childsafe transparency``: a period's transparency report as JSON, CSV or HTML.

\b
  childsafe transparency --since 2026-01-01 --until 2026-07-01 --format html --out h1.html
  childsafe transparency --since 2026-01-01 --until 2026-04-01 --format csv \\
      --scan-summary scans/q1/summary.json --out q1.csv

The period is half-open (``--until`` is not included) and in UTC; a date means its midnight.
Figures come from the cases, decisions, appeals, filed reports, confirmed-hash ledger and
decision log in the database, and from the scan summaries given. Counts measure reporting
and enforcement, not prevalence; the report says so.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from childsafe.cli._common import err_console, fail
from childsafe.cli.actions_cmd import Stores, open_stores
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError
from childsafe.transparency.metrics import TransparencyReport, compute, read_scan_summary
from childsafe.transparency.practices import policies_in_force, practices_from
from childsafe.transparency.render import RENDERERS

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _build(
    s: Stores, tenant: str, since: datetime, until: datetime, scans: list[Path]
) -> TransparencyReport:
    from childsafe.storage.reporting import SqlReportStore
    from childsafe.storage.review import SqlCaseStore

    summaries = [read_scan_summary(p) for p in scans]
    report = compute(
        tenant,
        since,
        until,
        cases=SqlCaseStore(s.banks.engine, s.audit, s.settings),
        reports=SqlReportStore(s.banks.engine, s.audit),
        ledger=s.ledger,
        decisions=s.banks.decisions,
        scan_summaries=summaries,
    )
    names = {p.version: p.name for p in s.banks.policies.history(tenant)}
    practices = practices_from(
        s.settings,
        policies=policies_in_force(s.banks.policies.activations(tenant), names, since, until),
        banks=[b.name for b in s.banks.for_tenant(tenant).list_banks()],
        sources_seen=report.detection_sources,
        destinations_used=report.reports_by_destination,
    )
    return replace(report, practices=practices)


@click.command("transparency")
@click.option(
    "--since",
    type=click.DateTime(DATE_FORMATS),
    required=True,
    help="Start of the period (included), UTC.",
)
@click.option(
    "--until",
    type=click.DateTime(DATE_FORMATS),
    required=True,
    help="End of the period (not included), UTC.",
)
@click.option("--tenant", help="Whose report (default: CHILDSAFE_DEFAULT_TENANT).")
@click.option(
    "--scan-summary",
    "scans",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A dataset scan's summary.json to count (repeat for several).",
)
@click.option(
    "--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="json", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("-"),
    show_default=True,
    help="Where to write the report ('-' for stdout).",
)
@click.pass_context
def transparency_command(
    ctx: click.Context,
    since: datetime,
    until: datetime,
    tenant: str | None,
    scans: tuple[Path, ...],
    fmt: str,
    out: Path,
) -> None:
    """Compute a transparency report for a period (TRUST sections: policies & practices,
    processes & systems, outcomes)."""
    start, end = _utc(since), _utc(until)
    if end <= start:
        fail(f"--until ({end.date()}) must be after --since ({start.date()})", ExitCode.USAGE)
    with open_stores(ctx) as s:
        who = tenant or s.settings.default_tenant
        try:
            report = _build(s, who, start, end, list(scans))
        except ChildsafeError as exc:
            fail(str(exc))
    text = RENDERERS[fmt](report)
    if str(out) == "-":
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # a reader never sees half a report
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    err_console.print(
        f"wrote {out} ({fmt}): {report.cases_actioned} cases actioned, "
        f"{report.content_actioned} items, reports filed: {report.reports_filed}"
    )
