"""``childsafe report``: build, file, follow and export hotline reports for actioned cases.

\b
  childsafe report build 12                 # preview what would be reported (no content)
  childsafe report build 12 --xml           # the XML that would be sent (ids pending)
  childsafe report file 12                  # file with NCMEC's test environment
  childsafe report file 12 --environment production
  childsafe report status                   # can we reach the CyberTipline with our login?
  childsafe report status 3                 # one report: state, remote id, files
  childsafe report list --state failed      # what needs a retry (run `file` again)
  childsafe report retract 3                # cancel an unfinished report
  childsafe report export 12 --to nca --out exports/

Credentials: CHILDSAFE_NCMEC_USERNAME / CHILDSAFE_NCMEC_PASSWORD (CHILDSAFE_NCMEC_URL
overrides the base URL). Who NCMEC contacts comes from a reporter file (--reporter, default
$CHILDSAFE_HOME/reporter.json): {"first_name", "last_name", "email", "company", "platform",
"terms_of_service", "legal_url"}. Filing again after a crash or failure resumes the same
report; a report is never filed twice (see docs/reporting.md).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.cli._common import emit_json, err_console, fail, settings_from
from childsafe.config import Settings
from childsafe.errors import ChildsafeError, ReportingError
from childsafe.reporting.base import FiledReport, ReportState
from childsafe.reporting.ncmec.from_case import ReporterConfig
from childsafe.reporting.ncmec.model import Email, Person, Reporter

if TYPE_CHECKING:  # the storage stack loads only when a command runs
    from childsafe.reporting.ncmec.client import CyberTiplineClient
    from childsafe.reporting.ncmec.package import ReportPackage
    from childsafe.storage.evidence import SqlEvidenceStore
    from childsafe.storage.reporting import SqlReportStore
    from childsafe.storage.review import SqlCaseStore

STATES = [s.value for s in ReportState]
_REPORTER_KEYS = ("first_name", "last_name", "email", "company", "platform")


@dataclass
class Stores:
    settings: Settings
    cases: SqlCaseStore
    evidence: SqlEvidenceStore
    reports: SqlReportStore


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli:unknown"


@contextmanager
def open_stores(ctx: click.Context) -> Iterator[Stores]:
    """The configured database's stores; a ``ChildsafeError`` inside becomes a clean exit."""
    from childsafe.storage import open_store
    from childsafe.storage.audit import SqlAuditLog
    from childsafe.storage.evidence import SqlEvidenceStore
    from childsafe.storage.reporting import SqlReportStore
    from childsafe.storage.review import SqlCaseStore

    settings = settings_from(ctx)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    except ChildsafeError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error we cannot name in advance
        fail(f"cannot open the database: {type(exc).__name__}: {exc}")
    audit = SqlAuditLog(store.engine)
    try:
        yield Stores(
            settings,
            SqlCaseStore(store.engine, audit, settings),
            SqlEvidenceStore(store.engine, audit, settings),
            SqlReportStore(store.engine, audit),
        )
    except ChildsafeError as exc:
        fail(str(exc))
    finally:
        store.close()


def load_reporter(path: Path) -> ReporterConfig:
    """The reporter file as a ``ReporterConfig``; ``ReportingError`` naming what is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportingError(
            f"no reporter file at {path}: write JSON with {', '.join(_REPORTER_KEYS)} "
            "(who NCMEC contacts about reports), or pass --reporter"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportingError(f"reporter file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ReportingError(f"reporter file {path}: expected a JSON object")
    bad = [k for k, v in raw.items() if v is not None and not isinstance(v, str)]
    if bad:
        raise ReportingError(f"reporter file {path}: {', '.join(bad)} must be text")
    if not raw.get("email"):
        raise ReportingError(f"reporter file {path}: 'email' is required (NCMEC contacts it)")
    person = Person(raw.get("first_name"), raw.get("last_name"), emails=(Email(raw["email"]),))
    reporter = Reporter(
        reporting_person=person,
        company_template=raw.get("company"),
        terms_of_service=raw.get("terms_of_service"),
        legal_url=raw.get("legal_url"),
    )
    return ReporterConfig(reporter=reporter, platform=raw.get("platform"))


def _package(st: Stores, tenant: str, case_id: int, reporter: Path | None) -> ReportPackage:
    from childsafe.reporting.ncmec.from_case import build_package, record_from_store

    config = load_reporter(reporter or st.settings.home / "reporter.json")
    record = record_from_store(st.cases, tenant, case_id)
    return build_package(record, config, st.evidence, actor=_actor(), role="admin")


def _client(settings: Settings, environment: str | None) -> CyberTiplineClient:
    from childsafe.reporting.ncmec.client import CyberTiplineClient

    if not settings.ncmec_username or not settings.ncmec_password:
        raise ReportingError(
            "set CHILDSAFE_NCMEC_USERNAME and CHILDSAFE_NCMEC_PASSWORD (NCMEC-issued) to file"
        )
    return CyberTiplineClient(
        settings.ncmec_username,
        settings.ncmec_password,
        environment=environment or settings.ncmec_environment,
        base_url=settings.ncmec_url,
    )


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _report_dict(r: FiledReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "tenant": r.tenant,
        "case_id": r.case_id,
        "destination": r.destination.value,
        "environment": r.environment,
        "state": r.state.value,
        "remote_id": r.remote_id,
        "file_count": r.file_count,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "finished_at": _iso(r.finished_at),
        "last_error": r.last_error,
    }


def _preview(pkg: ReportPackage) -> dict[str, Any]:
    s = pkg.report.incident_summary
    return {
        "tenant": pkg.tenant,
        "case_id": pkg.case_id,
        "incident_type": s.incident_type.value,
        "incident_date_time": _iso(s.incident_date_time),
        "annotations": sorted(a.value for a in s.annotations),
        "reported_user": (
            pkg.report.person_or_user_reported.esp_identifier
            if pkg.report.person_or_user_reported
            else None
        ),
        "files": [
            {
                "item_id": f.planned.item_id,
                "name": f.planned.name,
                "size": f.planned.size,
                "md5": f.planned.md5,
                "sha256": f.planned.sha256,
                "file_viewed_by_esp": f.details.file_viewed_by_esp,
                "exif_viewed_by_esp": f.details.exif_viewed_by_esp,
                "industry_classification": (
                    f.details.industry_classification.value
                    if f.details.industry_classification
                    else None
                ),
                "annotations": sorted(a.value for a in f.details.annotations),
            }
            for f in pkg.files
        ],
        "notes": list(pkg.notes),
    }


def _table(reports: list[FiledReport]) -> None:
    table = Table("id", "case", "destination", "env", "state", "remote id", "files", "updated")
    for r in reports:
        table.add_row(
            str(r.id),
            str(r.case_id),
            r.destination.value,
            r.environment,
            r.state.value,
            r.remote_id or "",
            str(r.file_count),
            r.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console(highlight=False).print(table)


tenant_option = click.option(
    "--tenant", help="The case's tenant (default: CHILDSAFE_DEFAULT_TENANT)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
reporter_option = click.option(
    "--reporter",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Reporter JSON file (default: $CHILDSAFE_HOME/reporter.json).",
)


@click.group()
def report() -> None:
    """Report actioned cases to NCMEC's CyberTipline, or export them for C3P and the NCA."""


@report.command("build")
@click.argument("case_id", type=int)
@tenant_option
@reporter_option
@click.option("--xml", "as_xml", is_flag=True, help="Print the XML that would be sent.")
@json_option
@click.pass_context
def build_cmd(
    ctx: click.Context,
    case_id: int,
    tenant: str | None,
    reporter: Path | None,
    as_xml: bool,
    as_json: bool,
) -> None:
    """Preview the report of CASE_ID: fields, files (hashes, viewing flags), what is left out.

    Reads no content: files are described from the evidence store's metadata."""
    from childsafe.reporting.ncmec.xml import render_file_details, render_report

    with open_stores(ctx) as st:
        pkg = _package(st, tenant or st.settings.default_tenant, case_id, reporter)
        if as_xml:
            sys.stdout.write(render_report(pkg.report).decode() + "\n")
            for f in pkg.files:
                pending = replace(f.details, report_id="PENDING", file_id="PENDING")
                sys.stdout.write(render_file_details(pending).decode() + "\n")
            return
    preview = _preview(pkg)
    if as_json:
        emit_json(preview)
        return
    click.echo(f"case {case_id}: {preview['incident_type']} at {preview['incident_date_time']}")
    for f in preview["files"]:
        click.echo(
            f"  {f['name']}: {f['size']} bytes md5 {f['md5']} viewed={f['file_viewed_by_esp']} "
            f"exif_viewed={f['exif_viewed_by_esp']} class={f['industry_classification']}"
        )
    for note in preview["notes"]:
        click.echo(f"  note: {note}")


@report.command("file")
@click.argument("case_id", type=int)
@tenant_option
@reporter_option
@click.option(
    "--environment",
    type=click.Choice(["test", "production"]),
    help="CyberTipline environment (default: CHILDSAFE_NCMEC_ENVIRONMENT, 'test').",
)
@json_option
@click.pass_context
def file_cmd(
    ctx: click.Context,
    case_id: int,
    tenant: str | None,
    reporter: Path | None,
    environment: str | None,
    as_json: bool,
) -> None:
    """File CASE_ID with the CyberTipline, or finish filing it after a crash or failure."""
    from childsafe.reporting.ncmec.filing import file_report

    with open_stores(ctx) as st:
        tenant = tenant or st.settings.default_tenant
        pkg = _package(st, tenant, case_id, reporter)
        with _client(st.settings, environment) as client:
            result = file_report(st.reports, client, pkg, actor=_actor())
        kept = _preserve(st, pkg)
        _announce(st, tenant, case_id, result.report)
    out = _report_dict(result.report) | {
        "already_finished": result.already_finished,
        "restarted": list(result.restarted),
        "evidence_preserved": kept,
    }
    if as_json:
        emit_json(out)
        return
    how = " (an earlier attempt had finished)" if result.already_finished else ""
    click.echo(
        f"report {result.report.id} for case {case_id}: {result.report.state.value}{how}, "
        f"NCMEC report id {result.report.remote_id}"
    )


def _announce(st: Stores, tenant: str, case_id: int, filed: FiledReport) -> None:
    """Queue the ``report_filed`` event for the platform (idempotent: one per report)."""
    from childsafe.actions.events import report_filed_event
    from childsafe.storage.actions import SqlOutbox

    if filed.state is not ReportState.FINISHED:
        return
    case = st.cases.get(tenant, case_id)
    outbox = SqlOutbox(st.reports.engine, st.reports.audit)
    outbox.enqueue(report_filed_event(case, filed.id, filed.destination.value))


def _preserve(st: Stores, pkg: ReportPackage) -> int:
    """Restart the retention clock of the reported files (NCMEC's acknowledgement is a
    preservation request: 18 U.S.C. 2258A(h)); a problem is a warning, not a failure,
    because the report itself has been filed."""
    from datetime import UTC

    now = datetime.now(UTC)
    kept = 0
    for f in pkg.files:
        if f.planned.evidence_id is None:
            continue
        try:
            st.evidence.promote(pkg.tenant, f.planned.evidence_id, actor=_actor(), now=now)
            kept += 1
        except ChildsafeError as exc:
            err_console.print(f"warning: evidence {f.planned.evidence_id} not preserved: {exc}")
    return kept


@report.command("status")
@click.argument("report_id", type=int, required=False)
@tenant_option
@click.option("--environment", type=click.Choice(["test", "production"]))
@json_option
@click.pass_context
def status_cmd(
    ctx: click.Context,
    report_id: int | None,
    tenant: str | None,
    environment: str | None,
    as_json: bool,
) -> None:
    """Without REPORT_ID: check the CyberTipline login. With it: that report's progress."""
    settings: Settings = settings_from(ctx)
    if report_id is None:
        try:
            with _client(settings, environment) as client:
                res = client.status()
                url = client.base_url
        except ChildsafeError as exc:
            fail(str(exc))
        if as_json:
            emit_json({"ok": True, "url": url, "description": res.description})
        else:
            click.echo(f"CyberTipline at {url}: ok ({res.description})")
        return
    with open_stores(ctx) as st:
        prog = st.reports.progress(tenant or settings.default_tenant, report_id)
    files = [
        {
            "seq": f.seq,
            "item_id": f.item_id,
            "name": f.name,
            "remote_file_id": f.remote_file_id,
            "uploaded": f.uploaded_at is not None,
            "details_sent": f.details_sent_at is not None,
        }
        for f in prog.files
    ]
    out = _report_dict(prog.report) | {
        "finish_attempted_at": _iso(prog.finish_attempted_at),
        "export_path": prog.export_path,
        "files": files,
    }
    if as_json:
        emit_json(out)
        return
    r = prog.report
    click.echo(
        f"report {r.id} (case {r.case_id}, {r.destination.value}/{r.environment}): {r.state.value}"
    )
    if r.remote_id:
        click.echo(f"  NCMEC report id {r.remote_id}")
    for f in files:
        click.echo(f"  {f['name']}: uploaded={f['uploaded']} details={f['details_sent']}")
    if r.last_error:
        click.echo(f"  last error: {r.last_error}")


@report.command("retract")
@click.argument("report_id", type=int)
@tenant_option
@json_option
@click.pass_context
def retract_cmd(ctx: click.Context, report_id: int, tenant: str | None, as_json: bool) -> None:
    """Cancel REPORT_ID before it finished (NCMEC and here). A finished report stays filed."""
    from childsafe.reporting.ncmec.filing import retract_report

    with open_stores(ctx) as st:
        tenant = tenant or st.settings.default_tenant
        rep = st.reports.get(tenant, report_id)
        with _client(st.settings, rep.environment if rep.environment != "export" else None) as c:
            out = retract_report(st.reports, c, tenant, report_id, actor=_actor())
    if as_json:
        emit_json(_report_dict(out.report) | {"outcome": out.outcome})
    else:
        click.echo(f"report {report_id}: {out.outcome} (now {out.report.state.value})")


@report.command("list")
@tenant_option
@click.option("--state", type=click.Choice(STATES), help="Only reports in this state.")
@click.option("--case", "case_id", type=int, help="Only this case's reports.")
@json_option
@click.pass_context
def list_cmd(
    ctx: click.Context, tenant: str | None, state: str | None, case_id: int | None, as_json: bool
) -> None:
    """List reports, oldest first."""
    with open_stores(ctx) as st:
        tenant = tenant or st.settings.default_tenant
        if case_id is not None:
            found = st.reports.for_case(tenant, case_id)
            if state is not None:
                found = [r for r in found if r.state.value == state]
        else:
            found = st.reports.list(tenant, state=ReportState(state) if state else None)
    if as_json:
        for r in found:
            emit_json(_report_dict(r))
        return
    _table(found)


@report.command("export")
@click.argument("case_id", type=int)
@click.option("--to", "destination", type=click.Choice(["c3p", "nca"]), required=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the JSON and CSV files.",
)
@tenant_option
@reporter_option
@json_option
@click.pass_context
def export_cmd(
    ctx: click.Context,
    case_id: int,
    destination: str,
    out_dir: Path,
    tenant: str | None,
    reporter: Path | None,
    as_json: bool,
) -> None:
    """Write CASE_ID's report for C3P (Cybertip.ca) or the UK NCA as JSON and CSV files."""
    from childsafe.reporting.exports import export_report

    with open_stores(ctx) as st:
        pkg = _package(st, tenant or st.settings.default_tenant, case_id, reporter)
        res = export_report(pkg, destination, out_dir, ledger=st.reports, actor=_actor())
    if as_json:
        emit_json(_report_dict(res.report) | {"json": str(res.json_path), "csv": str(res.csv_path)})
    else:
        click.echo(f"exported case {case_id} for {destination}: {res.json_path}, {res.csv_path}")
