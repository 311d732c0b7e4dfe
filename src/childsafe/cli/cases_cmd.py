"""``childsafe cases`` and ``childsafe reviewers``: the review queue from a terminal.

Intake is idempotent (every finding carries a dedupe key), so ``cases intake`` can run from
cron as often as wanted: a second run over the same decisions or scan adds nothing. A
reviewer's password is read from a prompt or ``--password-stdin``, never from an argument,
where it would sit in shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.cli._common import emit_json, err_console, fail, progress, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.config import Settings
from childsafe.errors import ChildsafeError
from childsafe.review.base import Case, CaseFilter, CaseItem, CaseState, Reviewer, Role

if TYPE_CHECKING:  # the storage stack loads only when a command runs
    from childsafe.storage import SqlBankStore
    from childsafe.storage.review import SqlCaseStore

STATES = [s.value for s in CaseState]
ROLES = [r.value for r in Role]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _stores(ctx: click.Context) -> Iterator[tuple[SqlBankStore, SqlCaseStore]]:
    """The bank store and case store of the configured database; errors are one line."""
    from childsafe.storage import open_store
    from childsafe.storage.audit import SqlAuditLog
    from childsafe.storage.review import SqlCaseStore

    settings: Settings = settings_from(ctx)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    except ChildsafeError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error we cannot name in advance
        fail(f"cannot open the database: {type(exc).__name__}: {exc}")
    try:
        yield store, SqlCaseStore(store.engine, SqlAuditLog(store.engine), settings)
    except ChildsafeError as exc:
        fail(str(exc))
    finally:
        store.close()


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def case_dict(c: Case) -> dict[str, Any]:
    return {
        "id": c.id,
        "tenant": c.tenant,
        "subject": {"kind": c.subject.kind.value, "id": c.subject.id},
        "state": c.state.value,
        "priority": int(c.priority),
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
        "due_at": _iso(c.due_at),
        "overdue": c.overdue(datetime.now(UTC)),
        "assignee": c.assignee,
        "sources": [s.value for s in c.sources],
        "item_count": c.item_count,
        "first_decision_at": _iso(c.first_decision_at),
        "actioned_at": _iso(c.actioned_at),
        "closed_at": _iso(c.closed_at),
    }


def item_dict(i: CaseItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "item_ref": i.item_ref,
        "kind": i.kind,
        "source": i.source.value,
        "priority": int(i.priority),
        "reasons": list(i.reasons),
        "hashes": dict(i.hashes),
        "matches": list(i.matches),
        "scores": dict(i.scores),
        "provenance": dict(i.provenance),
        "generative_ai": i.generative_ai,
        "added_at": _iso(i.added_at),
        "evidence_id": i.evidence_id,
        "file_viewed": i.file_viewed,
        "exif_viewed": i.exif_viewed,
    }


def reviewer_dict(r: Reviewer) -> dict[str, Any]:
    return {
        "username": r.username,
        "tenant": r.tenant,
        "role": r.role.value,
        "display_name": r.display_name,
        "daily_reveal_limit": r.daily_reveal_limit,
        "metadata_only": r.metadata_only,
        "created_at": _iso(r.created_at),
        "disabled_at": _iso(r.disabled_at),
    }


def _tenant(ctx: click.Context, tenant: str | None) -> str:
    return tenant or settings_from(ctx).default_tenant


tenant_option = click.option("--tenant", help="The tenant (default: CHILDSAFE_DEFAULT_TENANT).")
json_option = click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")


@click.group()
def cases() -> None:
    """The review queue: list and show cases, take in findings, escalate late ones."""


@cases.command("list")
@tenant_option
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Repeatable.")
@click.option("--assignee", help="Only cases claimed by this reviewer.")
@click.option("--overdue", is_flag=True, help="Only cases past their SLA deadline now.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@click.pass_context
def list_cmd(
    ctx: click.Context,
    tenant: str | None,
    states: tuple[str, ...],
    assignee: str | None,
    overdue: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List cases in queue order: priority, then deadline."""
    flt = CaseFilter(
        states=frozenset(CaseState(s) for s in states) if states else None,
        assignee=assignee,
        overdue_at=datetime.now(UTC) if overdue else None,
        limit=limit,
    )
    with _stores(ctx) as (_, cs):
        found = cs.list(_tenant(ctx, tenant), flt)
    if as_json:
        for c in found:
            emit_json(case_dict(c))
        return
    table = Table("id", "priority", "state", "subject", "items", "due", "assignee")
    now = datetime.now(UTC)
    for c in found:
        due = c.due_at.strftime("%Y-%m-%d %H:%M") + (" LATE" if c.overdue(now) else "")
        subject = f"{c.subject.kind.value}:{c.subject.id}"
        row = (str(c.id), str(int(c.priority)), c.state.value, subject, str(c.item_count), due)
        table.add_row(*row, c.assignee or "")
    Console(highlight=False).print(table)


@cases.command("show")
@click.argument("case_id", type=int)
@tenant_option
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, case_id: int, tenant: str | None, as_json: bool) -> None:
    """Show one case: its items (hashes and provenance, never content), decisions, appeals."""
    t = _tenant(ctx, tenant)
    with _stores(ctx) as (_, cs):
        case = cs.get(t, case_id)
        items, decisions, appeals = (
            cs.items(t, case_id),
            cs.decisions(t, case_id),
            cs.appeals(t, case_id),
        )
    out = case_dict(case) | {
        "items": [item_dict(i) for i in items],
        "decisions": [
            {
                "id": d.id,
                "item_id": d.item_id,
                "reviewer": d.reviewer,
                "outcome": d.outcome.value,
                "reason_code": d.reason_code,
                "industry_class": d.industry_class.value if d.industry_class else None,
                "second_review": d.second_review,
                "at": _iso(d.at),
            }
            for d in decisions
        ],
        "appeals": [
            {
                "id": a.id,
                "filed_at": _iso(a.filed_at),
                "outcome": a.outcome,
                "decided_by": a.decided_by,
            }
            for a in appeals
        ],
    }
    if as_json:
        emit_json(out)
        return
    click.echo(
        f"case {case.id} [{case.state.value}] priority {int(case.priority)} "
        f"{case.subject.kind.value}:{case.subject.id} due {_iso(case.due_at)} "
        f"assignee {case.assignee or '-'}"
    )
    for i in items:
        viewed = ("file " if i.file_viewed else "") + ("exif" if i.exif_viewed else "")
        click.echo(f"  item {i.id} {i.kind} {i.source.value} p{int(i.priority)} {i.item_ref} "
                   f"{','.join(i.reasons)} viewed: {viewed.strip() or 'no'}")  # fmt: skip
    for d in decisions:
        click.echo(f"  decision {d.id} {d.reviewer} {d.outcome.value} {d.reason_code}")


def _scan_rows(out_dir: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    path = out_dir / "quarantine.parquet"
    if not path.is_file():
        fail(f"{out_dir}: no quarantine.parquet (is this a scan output folder?)")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        fail(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})")
    with progress() as bar:
        task = bar.add_task("intake", total=pf.metadata.num_rows)
        for batch in pf.iter_batches(batch_size=1000):
            for row in batch.to_pylist():
                yield row
                bar.advance(task)


@cases.command("intake")
@tenant_option
@click.option("--from-decisions", is_flag=True, help="Decision-log entries that asked for a case.")
@click.option("--since", type=click.DateTime(), help="Only decisions at or after this (UTC).")
@click.option(
    "--from-scan",
    "scan_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A scan output folder: its quarantine.parquet rows.",
)
@click.option(
    "--confirmed-bank",
    "confirmed",
    multiple=True,
    help="Banks whose matches are confirmed (priority 1); default: every bank.",
)
@json_option
@click.pass_context
def intake_cmd(
    ctx: click.Context,
    tenant: str | None,
    from_decisions: bool,
    since: datetime | None,
    scan_dir: Path | None,
    confirmed: tuple[str, ...],
    as_json: bool,
) -> None:
    """Turn findings into cases, idempotently (rerunning adds nothing new)."""
    from childsafe.review.workflow import IntakeResult, intake_decisions, intake_scan_rows

    if from_decisions == (scan_dir is not None):
        fail("give exactly one of --from-decisions and --from-scan OUT_DIR", ExitCode.USAGE)
    t = _tenant(ctx, tenant)
    banks = set(confirmed) or None
    with _stores(ctx) as (store, cs):
        if from_decisions:
            start = since.replace(tzinfo=UTC) if since is not None else None
            res = intake_decisions(
                store.decisions, cs, t, since=start, confirmed=banks, actor=_actor()
            )
        else:
            assert scan_dir is not None
            res = IntakeResult()
            intake_scan_rows(
                _scan_rows(scan_dir), cs, t, confirmed=banks, actor=_actor(), result=res
            )
    for name, error in res.errors:
        err_console.print(f"error: {name}: {error}", markup=False)
    if as_json:
        emit_json(res.to_dict())
    else:
        click.echo(f"{res.findings} findings in {len(res.cases)} cases; {len(res.errors)} errors")
    if res.errors:
        sys.exit(int(ExitCode.ITEM_ERRORS))


@cases.command("escalate-overdue")
@json_option
@click.pass_context
def escalate_cmd(ctx: click.Context, as_json: bool) -> None:
    """Escalate every case past its SLA deadline to a lead (all tenants); run it from cron."""
    with _stores(ctx) as (_, cs):
        n = cs.escalate_overdue(datetime.now(UTC), actor="system:sla")
    if as_json:
        emit_json({"escalated": n})
    else:
        click.echo(f"escalated {n} cases")


@click.group()
def reviewers() -> None:
    """Console accounts: reviewers, leads, admins and auditors."""


@reviewers.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reviewer", show_default=True)
@tenant_option
@click.option("--display-name", default="", help="Shown in the console.")
@click.option("--daily-reveal-limit", type=click.IntRange(min=0), help="Default: the setting.")
@click.option("--metadata-only", is_flag=True, help="Never shown media: hashes and metadata.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@json_option
@click.pass_context
def add_reviewer_cmd(
    ctx: click.Context,
    username: str,
    role: str,
    tenant: str | None,
    display_name: str,
    daily_reveal_limit: int | None,
    metadata_only: bool,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add a console account; the password is prompted for (or read with --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with _stores(ctx) as (_, cs):
        r = cs.add_reviewer(
            _tenant(ctx, tenant),
            username,
            Role(role),
            password,
            display_name=display_name,
            daily_reveal_limit=daily_reveal_limit,
            metadata_only=metadata_only,
            actor=_actor(),
        )
    if as_json:
        emit_json(reviewer_dict(r))
    else:
        click.echo(f"added {r.role.value} {r.username} to tenant {r.tenant}")


@reviewers.command("list")
@tenant_option
@json_option
@click.pass_context
def list_reviewers_cmd(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List a tenant's console accounts (never their password hashes)."""
    with _stores(ctx) as (_, cs):
        found = cs.reviewers(_tenant(ctx, tenant))
    if as_json:
        for r in found:
            emit_json(reviewer_dict(r))
        return
    table = Table("username", "role", "name", "reveals/day", "metadata only", "disabled")
    for r in found:
        table.add_row(r.username, r.role.value, r.display_name, str(r.daily_reveal_limit),
                      "yes" if r.metadata_only else "", _iso(r.disabled_at) or "")  # fmt: skip
    Console(highlight=False).print(table)
