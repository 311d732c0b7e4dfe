"""``childsafe evidence``: list, hold, release, destroy and purge preserved evidence.

\b
  childsafe evidence list --tenant acme --json
  childsafe evidence hold ev_… --reason "preservation request 2025-17"
  childsafe evidence release ev_… --reason "request withdrawn"
  childsafe evidence destroy ev_… --reason "no violation" --yes
  childsafe evidence purge --json     # destroy what has expired; run daily from cron

Content is never shown here: reading it is the review console's job, for the roles allowed
to. Every change is an audit event attributed to ``cli:<OS user>`` (purge to
``system:retention``). There is deliberately no ``--now`` for purge: nobody can destroy
evidence early by moving the clock; destroying one item early needs ``destroy`` with a
reason, which the audit log keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from childsafe.cli._common import emit_json, fail, open_store, settings_from
from childsafe.cli.audit_cmd import cli_actor
from childsafe.errors import ChildsafeError
from childsafe.evidence.base import EvidenceRecord

if TYPE_CHECKING:  # the storage stack loads only when a command runs
    from childsafe.storage.evidence import SqlEvidenceStore

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def evidence_store(ctx: click.Context) -> Iterator[SqlEvidenceStore]:
    """The configured database's evidence store; failures become one-line errors."""
    from childsafe.storage import SqlBankStore
    from childsafe.storage.audit import SqlAuditLog
    from childsafe.storage.evidence import SqlEvidenceStore

    settings = settings_from(ctx)
    with open_store(settings) as store:
        # The CLI's store is always SQL; anything else would have no evidence store.
        sql = store if isinstance(store, SqlBankStore) else fail("this store has no evidence store")
        engine = sql.engine
        try:
            yield SqlEvidenceStore(engine, SqlAuditLog(engine), settings)
        except ChildsafeError as exc:
            fail(str(exc))


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def record_dict(r: EvidenceRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "tenant": r.tenant,
        "purpose": r.purpose.value,
        "case_id": r.case_id,
        "item_ref": r.item_ref,
        "content_type": r.content_type,
        "size": r.size,
        "sha256": r.sha256,
        "md5": r.md5,
        "stored_at": _iso(r.stored_at),
        "expires_at": _iso(r.expires_at),
        "legal_hold": r.legal_hold,
        "destroyed_at": _iso(r.destroyed_at),
        "destroyed_reason": r.destroyed_reason,
    }


def _tenant_option() -> Callable[[F], F]:
    return click.option("--tenant", help="The tenant (default: CHILDSAFE_DEFAULT_TENANT).")


def _json_option() -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _show(record: EvidenceRecord, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(record_dict(record))
    else:
        click.echo(f"{verb} evidence {record.id} of tenant {record.tenant}")


@click.group()
def evidence() -> None:
    """Preserved evidence: encrypted, access-limited, audited, expiring (see docs)."""


@evidence.command("list")
@_tenant_option()
@click.option("--case", "case_id", type=int, help="Only evidence of this case.")
@click.option("--all", "include_destroyed", is_flag=True, help="Include destroyed tombstones.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one record per line.")
@click.pass_context
def list_cmd(
    ctx: click.Context,
    tenant: str | None,
    case_id: int | None,
    include_destroyed: bool,
    as_json: bool,
) -> None:
    """List evidence records (metadata and hashes, never content)."""
    name = tenant or settings_from(ctx).default_tenant
    with evidence_store(ctx) as store:
        found = store.list(name, case_id=case_id, include_destroyed=include_destroyed)
    if as_json:
        for r in found:
            emit_json(record_dict(r))
        return
    table = Table("id", "purpose", "case", "item", "size", "expires", "hold", "destroyed")
    for r in found:
        table.add_row(
            r.id,
            r.purpose.value,
            "" if r.case_id is None else str(r.case_id),
            r.item_ref,
            str(r.size),
            r.expires_at.strftime("%Y-%m-%d"),
            "HOLD" if r.legal_hold else "",
            r.destroyed_at.strftime("%Y-%m-%d") if r.destroyed_at else "",
        )
    Console(highlight=False).print(table)


@evidence.command("hold")
@click.argument("evidence_id")
@click.option("--reason", required=True, help="Why (e.g. the preservation request's number).")
@_tenant_option()
@_json_option()
@click.pass_context
def hold_cmd(
    ctx: click.Context, evidence_id: str, reason: str, tenant: str | None, as_json: bool
) -> None:
    """Put EVIDENCE_ID on legal hold: it is kept past its expiry until released."""
    name = tenant or settings_from(ctx).default_tenant
    with evidence_store(ctx) as store:
        record = store.hold(name, evidence_id, actor=cli_actor(), reason=reason)
    _show(record, as_json, "held")


@evidence.command("release")
@click.argument("evidence_id")
@click.option("--reason", required=True, help="Why the hold ends.")
@_tenant_option()
@_json_option()
@click.pass_context
def release_cmd(
    ctx: click.Context, evidence_id: str, reason: str, tenant: str | None, as_json: bool
) -> None:
    """Release EVIDENCE_ID's legal hold; once expired, the next purge destroys it."""
    name = tenant or settings_from(ctx).default_tenant
    with evidence_store(ctx) as store:
        record = store.release(name, evidence_id, actor=cli_actor(), reason=reason)
    _show(record, as_json, "released")


@evidence.command("destroy")
@click.argument("evidence_id")
@click.option("--reason", required=True, help="Why (kept in the tombstone and the audit log).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_tenant_option()
@_json_option()
@click.pass_context
def destroy_cmd(
    ctx: click.Context,
    evidence_id: str,
    reason: str,
    yes: bool,
    tenant: str | None,
    as_json: bool,
) -> None:
    """Destroy EVIDENCE_ID's content now (refused under legal hold); a tombstone stays."""
    name = tenant or settings_from(ctx).default_tenant
    if not yes and not click.confirm(f"destroy evidence {evidence_id}? this cannot be undone"):
        fail("not destroyed")
    with evidence_store(ctx) as store:
        record = store.destroy(name, evidence_id, actor=cli_actor(), reason=reason)
    _show(record, as_json, "destroyed")


@evidence.command("purge")
@_json_option()
@click.pass_context
def purge_cmd(ctx: click.Context, as_json: bool) -> None:
    """Destroy all evidence past its expiry and not on hold (every tenant); for cron."""
    now = datetime.now(UTC)
    with evidence_store(ctx) as store:
        destroyed = store.purge_expired(now)
    if as_json:
        emit_json({"destroyed": destroyed, "at": now.isoformat()})
    else:
        click.echo(f"destroyed {destroyed} expired evidence record(s)")
