"""``childsafe tenants`` and ``childsafe keys``: who may use the service, with which keys.

A key's secret token is printed once, when it is made, and never stored: only an HMAC of it
keyed with ``CHILDSAFE_SECRET_KEY`` is. Keys made with the development secret therefore stop
working when a real secret is set, so production refuses to make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.cli._common import emit_json, err_console, fail, settings_from
from childsafe.config import DEFAULT_SECRET, Settings
from childsafe.errors import ChildsafeError
from childsafe.tenancy.base import ApiKeyInfo, Scope, Tenant

if TYPE_CHECKING:  # the storage stack (SQLAlchemy, Alembic) loads only when a command runs
    from childsafe.storage import SqlAccessStore

SCOPES = [s.value for s in Scope]


@contextmanager
def _access(ctx: click.Context) -> Iterator[SqlAccessStore]:
    """The access store of the configured database; failures become one-line errors."""
    from childsafe.storage import open_store

    settings: Settings = settings_from(ctx)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    except ChildsafeError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error we cannot name in advance
        fail(f"cannot open the database: {type(exc).__name__}: {exc}")
    try:
        yield store.access
    except ChildsafeError as exc:
        fail(str(exc))
    finally:
        store.close()


def _iso(dt: Any) -> str | None:
    return dt.isoformat() if dt is not None else None


def _tenant_dict(t: Tenant) -> dict[str, Any]:
    return {"name": t.name, "display_name": t.display_name, "created_at": _iso(t.created_at)}


def _key_dict(k: ApiKeyInfo) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "tenant": k.tenant,
        "prefix": k.prefix,
        "scopes": sorted(s.value for s in k.scopes),
        "name": k.name,
        "created_at": _iso(k.created_at),
        "revoked_at": _iso(k.revoked_at),
        "last_used_at": _iso(k.last_used_at),
    }


@click.group()
def tenants() -> None:
    """Manage tenants: each has its own banks, policies, keys and decision log."""


@tenants.command("create")
@click.argument("name")
@click.option("--display-name", help="A human-readable name shown in lists.")
@click.option("--json", "as_json", is_flag=True, help="Print the new tenant as JSON.")
@click.pass_context
def create_tenant_cmd(
    ctx: click.Context, name: str, display_name: str | None, as_json: bool
) -> None:
    """Create tenant NAME (a slug: a-z, 0-9, '-', '_'; names are never reused)."""
    with _access(ctx) as access:
        tenant = access.create_tenant(name, display_name)
    if as_json:
        emit_json(_tenant_dict(tenant))
    else:
        click.echo(f"created tenant {tenant.name}")


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one tenant per line.")
@click.pass_context
def list_tenants_cmd(ctx: click.Context, as_json: bool) -> None:
    """List live tenants."""
    with _access(ctx) as access:
        found = access.list_tenants()
    if as_json:
        for t in found:
            emit_json(_tenant_dict(t))
        return
    table = Table("tenant", "display name", "created")
    for t in found:
        table.add_row(t.name, t.display_name or "", t.created_at.strftime("%Y-%m-%d %H:%M"))
    Console(highlight=False).print(table)


@click.group()
def keys() -> None:
    """Manage API keys: scoped to one tenant, shown once, revocable."""


@keys.command("create")
@click.option("--tenant", required=True, help="The tenant the key acts for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What the key may do (repeat for several; admin implies all).",
)
@click.option("--name", help="A label for the key (who or what uses it).")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its token as JSON.")
@click.pass_context
def create_key_cmd(
    ctx: click.Context, tenant: str, scopes: tuple[str, ...], name: str | None, as_json: bool
) -> None:
    """Create a key and print its secret token: this is the only time it is shown."""
    settings: Settings = settings_from(ctx)
    if settings.secret_key == DEFAULT_SECRET:
        if settings.env == "production":
            fail("set CHILDSAFE_SECRET_KEY: production keys cannot use the development secret")
        err_console.print(
            "warning: keys are hashed with the development secret; they stop working once "
            "CHILDSAFE_SECRET_KEY is set"
        )
    with _access(ctx) as access:
        info, token = access.create_key(tenant, frozenset(Scope(s) for s in scopes), name)
    if as_json:
        emit_json(_key_dict(info) | {"token": token})
        return
    click.echo(token)
    err_console.print(
        f"key {info.key_id} (prefix {info.prefix}) for tenant {info.tenant}: "
        f"{', '.join(sorted(s.value for s in info.scopes))}. "
        "Store the token now: it cannot be shown again."
    )


@keys.command("list")
@click.option("--tenant", required=True, help="Whose keys to list.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one key per line.")
@click.pass_context
def list_keys_cmd(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """List a tenant's keys (prefixes and scopes; tokens are never stored)."""
    with _access(ctx) as access:
        found = access.list_keys(tenant)
    if as_json:
        for k in found:
            emit_json(_key_dict(k))
        return
    table = Table("key id", "prefix", "name", "scopes", "created", "last used", "revoked")
    for k in found:
        d = _key_dict(k)
        table.add_row(
            k.key_id,
            k.prefix,
            k.name or "",
            " ".join(d["scopes"]),
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "",
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    Console(highlight=False).print(table)


@keys.command("revoke")
@click.argument("key")
@click.option("--tenant", required=True, help="The key's tenant.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def revoke_key_cmd(ctx: click.Context, key: str, tenant: str, as_json: bool) -> None:
    """Revoke KEY (its id or its prefix); requests with it fail from now on."""
    with _access(ctx) as access:
        done = access.revoke_key(tenant, key)
    if not done:
        fail(f"tenant {tenant!r} has no live key {key!r}")
    if as_json:
        emit_json({"tenant": tenant, "key": key, "revoked": True})
    else:
        click.echo(f"revoked key {key} of tenant {tenant}")
