"""``childsafe audit``: verify the hash-chained audit log and read it.

\b
  childsafe audit verify            # exit 0 intact, 1 broken (names the first bad entry)
  childsafe audit log --tenant acme --limit 20 --json

Verification recomputes every entry's hash from its content and its predecessor's hash and
compares the end of the chain with the recorded head, so an entry changed, removed,
reordered, cut off the end or slipped in behind the log's back is reported by its sequence
number. Run it from cron and alert on exit code 1; keep the printed head hash somewhere
outside the database now and then, so a wholesale rewrite of the chain would show too.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.audit.base import AuditEntry
from childsafe.cli._common import emit_json, fail, open_store, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError

if TYPE_CHECKING:  # the storage stack loads only when a command runs
    from childsafe.storage.audit import SqlAuditLog


def cli_actor() -> str:
    """Who a CLI change is attributed to in the audit log: ``cli:<OS user>``."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (some containers)
        user = "unknown"
    return f"cli:{user}"[:200].replace("\x00", "")


@contextmanager
def audit_log(ctx: click.Context) -> Iterator[SqlAuditLog]:
    """The configured database's audit log; failures become one-line errors."""
    from childsafe.storage import SqlBankStore
    from childsafe.storage.audit import SqlAuditLog

    with open_store(settings_from(ctx)) as store:
        # The CLI's store is always SQL; anything else would have no audit log.
        sql = store if isinstance(store, SqlBankStore) else fail("this store has no audit log")
        engine = sql.engine
        try:
            yield SqlAuditLog(engine)
        except ChildsafeError as exc:
            fail(str(exc))


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "tenant": e.tenant,
        "actor": e.actor,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "details": dict(e.details),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


@click.group()
def audit() -> None:
    """The audit log: every review, evidence and reporting change, hash-chained."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def verify_cmd(ctx: click.Context, as_json: bool) -> None:
    """Recompute the whole chain; exit 0 if intact, 1 at the first bad entry."""
    with audit_log(ctx) as log:
        check = log.verify()
        head_seq, head_hash = log.head()
    if as_json:
        emit_json(
            {
                "ok": check.ok,
                "entries": check.entries,
                "first_bad_seq": check.first_bad_seq,
                "problem": check.problem,
                "head_seq": head_seq,
                "head_hash": head_hash,
            }
        )
    elif check.ok:
        click.echo(f"audit log intact: {check.entries} entries verified; head {head_hash}")
    else:
        click.echo(
            f"audit log BROKEN at entry {check.first_bad_seq}: {check.problem} "
            f"({check.entries} entries before it verified)",
            err=True,
        )
    if not check.ok:
        ctx.exit(int(ExitCode.FOUND))


@audit.command("log")
@click.option("--tenant", help="Only this tenant's entries.")
@click.option("--target-type", help="Only entries about this kind of target (case, evidence…).")
@click.option("--target-id", help="Only entries about this target id.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="How many of the newest entries to show.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one entry per line.")
@click.pass_context
def log_cmd(
    ctx: click.Context,
    tenant: str | None,
    target_type: str | None,
    target_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the newest entries, oldest first."""
    with audit_log(ctx) as log:
        found = log.tail(tenant, limit=limit, target_type=target_type, target_id=target_id)
    if as_json:
        for e in found:
            emit_json(entry_dict(e))
        return
    table = Table("seq", "at (UTC)", "tenant", "actor", "action", "target")
    for e in found:
        table.add_row(
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.tenant,
            e.actor,
            e.action,
            f"{e.target_type}:{e.target_id}",
        )
    Console(highlight=False).print(table)
