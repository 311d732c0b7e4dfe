"""``childsafe banks``: manage hash lists (import, export, inspect, remove, allow-list)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from childsafe.banks.base import Bank, BankStore
from childsafe.cli._common import (
    emit_json,
    err_console,
    fail,
    open_store,
    parse_type_value,
    settings_from,
)
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import BankImportError, BankNotFound, ChildsafeError

FORMATS = ["auto", "text", "csv", "jsonl", "pytx", "ncmec"]
HASH_TYPES = ["pdq", "md5", "sha1", "sha256", "video_md5", "vpdq"]


@click.group()
def banks() -> None:
    """Manage banks: named, versioned hash lists with per-entry provenance.

    Every change (an import, a removal) is all-or-nothing and bumps the bank's version, so a
    scan can record exactly which list it matched against.
    """


@contextmanager
def _store(ctx: click.Context) -> Iterator[BankStore]:
    with open_store(settings_from(ctx)) as store:
        try:
            yield store
        except BankImportError as exc:
            fail(f"import failed, bank unchanged: {exc}")
        except BankNotFound as exc:
            fail(str(exc))
        except ChildsafeError as exc:
            fail(str(exc))
        except OSError as exc:  # an unwritable export target, an unreadable list
            fail(f"{exc.filename or 'file'}: {exc.strerror or exc}")


def _bank_dict(bank: Bank) -> dict[str, Any]:
    d = asdict(bank)
    d["created_at"] = bank.created_at.isoformat()
    return d


@banks.command("import")
@click.argument("bank")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="File format; auto sniffs it from the content.",
)
@click.option(
    "--type",
    "hash_type",
    type=click.Choice(HASH_TYPES),
    help="Hash type for files that do not name it (plain text, CSV without a type column).",
)
@click.option("--label", help="Label (classification) for entries that carry none.")
@click.option(
    "--source", help="Source list name recorded with each entry (default: the file name)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_cmd(
    ctx: click.Context,
    bank: str,
    file: Path,
    fmt: str,
    hash_type: str | None,
    label: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Import FILE into BANK (created if needed).

    One bad line fails the whole import with its line number and leaves the bank as it was.
    Duplicates are counted, not doubled; tombstones (deleted entries) remove hashes.
    """
    from childsafe.banks.importer import import_file

    with _store(ctx) as store:
        res = import_file(
            store, bank, file, fmt=fmt, hash_type=hash_type, label=label, source=source
        )
    if as_json:
        emit_json(asdict(res))
    else:
        click.echo(
            f"{res.bank} v{res.version}: {res.added} added, {res.duplicates} duplicates, "
            f"{res.removed} removed ({res.records} records)"
        )


@banks.command("export")
@click.argument("bank")
@click.argument(
    "out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=Path("-")
)
@click.option("--format", "fmt", type=click.Choice(FORMATS[1:]), default="csv", show_default=True)
@click.option("--include-deleted", is_flag=True, help="Also write tombstoned entries.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (not with OUT '-').")
@click.pass_context
def export_cmd(
    ctx: click.Context, bank: str, out: Path, fmt: str, include_deleted: bool, as_json: bool
) -> None:
    """Export BANK to OUT (default stdout) in any importable format."""
    from childsafe.banks.importer import export_bank

    to_stdout = str(out) == "-"
    if to_stdout and as_json:
        raise click.UsageError("--json needs an OUT file: stdout carries the export itself")
    with _store(ctx) as store:
        target = sys.stdout if to_stdout else out
        n = export_bank(store, bank, target, fmt=fmt, include_deleted=include_deleted)
    _done(
        as_json,
        f"exported {n} entries of {bank}",
        bank=bank,
        entries=n,
        path=str(out),
        format=fmt,
        err=to_stdout,
    )


def _done(as_json: bool, message: str, *, err: bool = False, **fields: Any) -> None:
    """Report a finished change: a JSON object for scripts, or one line for people."""
    if as_json:
        emit_json(fields)
    elif err:
        err_console.print(message)
    else:
        click.echo(message)


@banks.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one bank per line.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List banks with their version, size and match settings."""
    with _store(ctx) as store:
        all_banks = store.list_banks()
    if as_json:
        for b in all_banks:
            emit_json(_bank_dict(b))
        return
    table = Table("bank", "version", "entries", "pdq radius", "quality floor", "created")
    for b in all_banks:
        table.add_row(
            b.name,
            str(b.version),
            str(b.entry_count),
            str(b.pdq_radius),
            str(b.pdq_quality_floor),
            b.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    if not all_banks:
        err_console.print("no banks yet: create one with `childsafe banks import BANK FILE`")
        return
    Console(highlight=False).print(table)


@banks.command("show")
@click.argument("bank")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def show_cmd(ctx: click.Context, bank: str, as_json: bool) -> None:
    """Show one bank: settings, entries by type and label, allow-list size."""
    from collections import Counter

    with _store(ctx) as store:
        b = store.get_bank(bank)
        by_type: Counter[str] = Counter()
        by_label: Counter[str] = Counter()
        for e in store.iter_entries(bank):
            by_type[e.hash_type] += 1
            by_label[e.label or "(none)"] += 1
        allowed = len(store.allowed(bank))
    info = _bank_dict(b) | {
        "by_type": dict(by_type),
        "by_label": dict(by_label),
        "allowed": allowed,
    }
    if as_json:
        emit_json(info)
        return
    for key, value in info.items():
        click.echo(f"{key:<18} {value}")


@banks.command("create")
@click.argument("bank")
@click.option("--description", default="", help="Free text shown by `banks show`.")
@click.option(
    "--pdq-radius",
    type=click.IntRange(0, 128),
    default=31,
    show_default=True,
    help="PDQ matches within this many bits.",
)
@click.option(
    "--pdq-quality-floor",
    type=click.IntRange(0, 100),
    default=50,
    show_default=True,
    help="PDQ hashes of lower quality are not matched.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new bank as JSON.")
@click.pass_context
def create_cmd(
    ctx: click.Context,
    bank: str,
    description: str,
    pdq_radius: int,
    pdq_quality_floor: int,
    as_json: bool,
) -> None:
    """Create an empty bank with its own PDQ radius and quality floor."""
    with _store(ctx) as store:
        created = store.create_bank(
            bank,
            description=description,
            pdq_radius=pdq_radius,
            pdq_quality_floor=pdq_quality_floor,
        )
    _done(as_json, f"created bank {bank}", **_bank_dict(created))


@banks.command("remove")
@click.argument("bank")
@click.option(
    "--hash",
    "hashes",
    multiple=True,
    metavar="TYPE:VALUE",
    help="Remove (tombstone) these entries instead of the whole bank.",
)
@click.option("--yes", is_flag=True, help="Do not ask before dropping a whole bank.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def remove_cmd(
    ctx: click.Context, bank: str, hashes: tuple[str, ...], yes: bool, as_json: bool
) -> None:
    """Remove entries (--hash, one all-or-nothing change) from BANK, or drop the whole bank."""
    from childsafe.banks.base import ImportRecord

    parsed = [parse_type_value(h) for h in hashes]
    with _store(ctx) as store:
        if parsed:
            records = [ImportRecord(t, v, deleted=True) for t, v in parsed]
            res = store.apply(bank, records, source="childsafe banks remove")
            _done(as_json, f"{bank} v{res.version}: {res.removed} entries removed", **asdict(res))
            return
        store.get_bank(bank)
        if not yes and not click.confirm(f"Drop bank {bank!r} and all its entries?"):
            sys.exit(int(ExitCode.FAILURE))
        store.delete_bank(bank)
    _done(as_json, f"dropped bank {bank}", bank=bank, dropped=True)


@banks.command("allow")
@click.argument("bank")
@click.argument("hashes", nargs=-1, metavar="[TYPE:VALUE]...")
@click.option("--reason", help="Why these are false positives (kept for audit); required to add.")
@click.option("--undo", is_flag=True, help="Take the hashes off the allow-list again.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def allow_cmd(
    ctx: click.Context,
    bank: str,
    hashes: tuple[str, ...],
    reason: str | None,
    undo: bool,
    as_json: bool,
) -> None:
    """BANK's false-positive list: hashes of benign content whose matches are suppressed.

    With no hashes, list the allow-list. With hashes, add them (--reason is required, for
    the audit trail) or take them off again (--undo).
    """
    parsed = [parse_type_value(h) for h in hashes]
    if parsed and not undo and not reason:
        raise click.UsageError("--reason is required when adding to the allow-list")
    with _store(ctx) as store:
        if not parsed:
            for a in store.allowed(bank):
                if as_json:
                    emit_json(asdict(a) | {"added_at": a.added_at.isoformat()})
                else:
                    click.echo(f"{a.hash_type}:{a.value}  {a.added_at:%Y-%m-%d}  {a.reason}")
            return
        n = 0
        for hash_type in sorted({t for t, _ in parsed}):
            values = [v for t, v in parsed if t == hash_type]
            if undo:
                n += store.remove_allowed(bank, hash_type, values)
            else:
                n += store.add_allowed(bank, hash_type, values, reason or "")
    verb = "removed" if undo else "added"
    fields: dict[str, Any] = {"bank": bank, verb: n}
    _done(as_json, f"{bank}: {n} allow-list entries {verb}", **fields)
