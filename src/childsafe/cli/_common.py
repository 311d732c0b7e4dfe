"""What the commands share: settings, the store, JSON output and progress bars."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from childsafe.banks.base import BankStore
from childsafe.cli.exit_codes import ExitCode
from childsafe.config import Settings
from childsafe.errors import ChildsafeError

err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def settings_from(ctx: click.Context) -> Settings:
    """The settings object built once by the root command."""
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


@contextmanager
def open_store(settings: Settings) -> Iterator[BankStore]:
    """Open the configured store, turning connection failures into a clean exit."""
    from childsafe.storage import open_store as _open

    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = _open(settings.effective_database_url)
    except ChildsafeError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error we cannot name in advance
        fail(f"cannot open the database: {type(exc).__name__}: {exc}")
    try:
        yield store
    finally:
        store.close()


def index_dir(settings: Settings) -> Path:
    """Saved indexes live per database, so two databases never share a stale index."""
    key = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:16]
    return settings.index_dir / key


def fail(message: str, code: ExitCode = ExitCode.FAILURE) -> Any:
    """Print a one-line error and exit; never a traceback for an expected failure."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(int(code))


def emit_json(obj: dict[str, Any]) -> None:
    """Write one JSON Lines record to stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def progress(enabled: bool = True) -> Progress:
    """A progress bar on stderr, shown only on a terminal (never in pipes or CI logs)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not (enabled and err_console.is_terminal),
    )


def parse_type_value(spec: str) -> tuple[str, str]:
    """Split ``TYPE:VALUE`` (``pdq:ab12…``) and canonicalise the value."""
    from childsafe.hashing.formats import canonical

    hash_type, sep, value = spec.partition(":")
    if not sep or not value:
        raise click.BadParameter(f"{spec!r}: want TYPE:VALUE, e.g. pdq:<64 hex>")
    try:
        return hash_type, canonical(hash_type, value)
    except ChildsafeError as exc:
        raise click.BadParameter(f"{spec!r}: {exc}") from None


def workers_option(help_text: str) -> Callable[[F], F]:
    """``--workers/-w``: processes for per-file work (hash, match), 1 by default."""
    return click.option(
        "--workers",
        "-w",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help=help_text,
    )
