"""``childsafe actions``: deliver, inspect and retry the platform's action webhooks.

\b
Run ``deliver`` from cron (every minute is fine): it sends what is due and exits.
  childsafe actions deliver --json          # one pass; exit 3 if something was dead-lettered
  childsafe actions list --state pending    # what waits, newest first
  childsafe actions dead-letters            # what gave up, with the last error
  childsafe actions retry 42                # after fixing the cause: back in the queue
  childsafe actions export-hashes --out confirmed.csv   # python-threatexchange CSV

Webhooks go to CHILDSAFE_WEBHOOK_URL, signed with CHILDSAFE_WEBHOOK_SECRET
(``X-Childsafe-Signature: t=...,v1=...``; see docs/actions.md).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.actions.base import DeliveryState, OutboxEntry
from childsafe.cli._common import emit_json, err_console, fail, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.config import Settings
from childsafe.errors import ChildsafeError

if TYPE_CHECKING:  # the storage stack loads only when a command runs
    from childsafe.storage import SqlBankStore
    from childsafe.storage.actions import SqlHashLedger, SqlOutbox
    from childsafe.storage.audit import SqlAuditLog

STATES = [s.value for s in DeliveryState]


@dataclass
class Stores:
    settings: Settings
    banks: SqlBankStore
    audit: SqlAuditLog
    outbox: SqlOutbox
    ledger: SqlHashLedger


@contextmanager
def open_stores(ctx: click.Context) -> Iterator[Stores]:
    """The configured database's stores; ``ChildsafeError`` inside becomes a clean exit."""
    from childsafe.storage import open_store
    from childsafe.storage.actions import SqlHashLedger, SqlOutbox
    from childsafe.storage.audit import SqlAuditLog

    settings = settings_from(ctx)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    except ChildsafeError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error we cannot name in advance
        fail(f"cannot open the database: {type(exc).__name__}: {exc}")
    audit = SqlAuditLog(store.engine)
    stores = Stores(
        settings, store, audit, SqlOutbox(store.engine, audit), SqlHashLedger(store.engine, audit)
    )
    try:
        yield stores
    except ChildsafeError as exc:
        fail(str(exc))
    finally:
        store.close()


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _entry_dict(e: OutboxEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "event_id": e.event.event_id,
        "tenant": e.event.tenant,
        "kind": e.event.kind.value,
        "case_id": e.event.case_id,
        "subject": {"kind": e.event.subject_kind, "id": e.event.subject_id},
        "data": dict(e.event.data),
        "state": e.state.value,
        "attempts": e.attempts,
        "next_attempt_at": _iso(e.next_attempt_at),
        "last_status": e.last_status,
        "last_error": e.last_error,
        "delivered_at": _iso(e.delivered_at),
        "dead_at": _iso(e.dead_at),
    }


def _print_entries(entries: list[OutboxEntry], as_json: bool) -> None:
    if as_json:
        for e in entries:
            emit_json(_entry_dict(e))
        return
    table = Table("id", "tenant", "kind", "case", "state", "attempts", "next / done", "last error")
    for e in entries:
        when = e.delivered_at or e.dead_at or e.next_attempt_at
        table.add_row(
            str(e.id),
            e.event.tenant,
            e.event.kind.value,
            "" if e.event.case_id is None else str(e.event.case_id),
            e.state.value,
            str(e.attempts),
            when.strftime("%Y-%m-%d %H:%M:%S"),
            (e.last_error or "")[:60],
        )
    Console(highlight=False).print(table)


@click.group(help=__doc__)
def actions() -> None:
    pass


@actions.command("deliver")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="At most this many entries in this pass.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=8,
    show_default=True,
    help="Attempts before an entry is dead-lettered.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.1, 300),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the platform per request.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the pass's result as JSON.")
@click.pass_context
def deliver_cmd(
    ctx: click.Context, limit: int, max_attempts: int, timeout_s: float, as_json: bool
) -> None:
    """Send the webhooks that are due, once, and exit (cron-friendly).

    Exit 0 when nothing gave up, 3 when an entry was dead-lettered in this pass.
    """
    from childsafe.actions.outbox import Dispatcher

    with open_stores(ctx) as s:
        url, secret = s.settings.webhook_url, s.settings.webhook_secret
        if not url or not secret:
            fail("set CHILDSAFE_WEBHOOK_URL and CHILDSAFE_WEBHOOK_SECRET to deliver actions")
        assert url is not None and secret is not None
        dispatcher = Dispatcher(
            s.outbox, url, secret, max_attempts=max_attempts, timeout_s=timeout_s
        )
        try:
            report = dispatcher.deliver_due(limit=limit)
        finally:
            dispatcher.close()
    result = {
        "delivered": len(report.delivered),
        "retrying": len(report.retrying),
        "dead": len(report.dead),
        "dead_ids": list(report.dead),
    }
    if as_json:
        emit_json(result)
    else:
        click.echo(
            f"delivered {result['delivered']}, retrying later {result['retrying']}, "
            f"dead-lettered {result['dead']}"
        )
    if report.dead:
        err_console.print(f"dead-lettered: {', '.join(map(str, report.dead))} (see dead-letters)")
        sys.exit(int(ExitCode.ITEM_ERRORS))


@actions.command("sync-bank")
@click.option("--tenant", help="Tenant (default: the configured default tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def sync_bank_cmd(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """Put every actioned case's confirmed hashes into the tenant's `confirmed` bank.

    Deciding a case does this at once; this command catches up after a crash between the
    decision and the bank import (idempotent: hashes already there change nothing). Run it
    from cron beside `actions deliver`.
    """
    from childsafe.storage.desk import open_desk

    with open_stores(ctx) as s:
        tenant = tenant or s.settings.default_tenant
        seen = open_desk(s.banks, s.settings).sync_confirmed(tenant)
        live = sum(1 for _ in s.banks.for_tenant(tenant).iter_entries("confirmed")) if seen else 0
    if as_json:
        emit_json({"tenant": tenant, "actioned_cases": seen, "confirmed_hashes": live})
    else:
        click.echo(f"{seen} actioned case(s) in sync; {live} hash(es) in bank 'confirmed'")


@actions.command("list")
@click.option("--tenant", help="Only this tenant's events.")
@click.option("--state", type=click.Choice(STATES), help="Only events in this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one event per line.")
@click.pass_context
def list_cmd(
    ctx: click.Context, tenant: str | None, state: str | None, limit: int, as_json: bool
) -> None:
    """List outbox events, newest first."""
    with open_stores(ctx) as s:
        found = s.outbox.list(tenant, state=DeliveryState(state) if state else None, limit=limit)
    _print_entries(found, as_json)


@actions.command("dead-letters")
@click.option("--tenant", help="Only this tenant's events.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one event per line.")
@click.pass_context
def dead_letters_cmd(ctx: click.Context, tenant: str | None, limit: int, as_json: bool) -> None:
    """List events that gave up (too many attempts, or refused by the platform)."""
    with open_stores(ctx) as s:
        found = s.outbox.list(tenant, state=DeliveryState.DEAD, limit=limit)
    _print_entries(found, as_json)


@actions.command("retry")
@click.argument("entry_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the event as JSON.")
@click.pass_context
def retry_cmd(ctx: click.Context, entry_id: int, as_json: bool) -> None:
    """Put event ID back in the queue, due now, with its attempts reset."""
    with open_stores(ctx) as s:
        entry = s.outbox.retry(entry_id, actor="cli", now=datetime.now(UTC))
    if as_json:
        emit_json(_entry_dict(entry))
    else:
        click.echo(f"event {entry.id} queued again ({entry.event.kind.value})")


@actions.command("export-hashes")
@click.option("--tenant", help="Whose confirmed hashes (default: CHILDSAFE_DEFAULT_TENANT).")
@click.option("--bank", default="confirmed", show_default=True, help="The re-upload bank.")
@click.option("--collab", help="The name partners see as the source (default: the tenant).")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the CSV ('-' for stdout).",
)
@click.pass_context
def export_cmd(
    ctx: click.Context, tenant: str | None, bank: str, collab: str | None, out: Path
) -> None:
    """Export confirmed hashes as python-threatexchange CSV (hashes only, no case ids)."""
    from childsafe.actions.export import export_confirmed

    with open_stores(ctx) as s:
        who = tenant or s.settings.default_tenant
        buf = io.StringIO()  # nothing is written when the export fails
        n = export_confirmed(s.banks, who, buf, bank=bank, collab=collab)
    if str(out) == "-":
        sys.stdout.write(buf.getvalue())
    else:
        out.write_text(buf.getvalue(), encoding="utf-8")
    err_console.print(f"exported {n} hashes of tenant {who}")
