"""``childsafe hash``: the hashes of files, for scripts and for building hash lists."""

from __future__ import annotations

from pathlib import Path

import click

from childsafe.cli._common import (
    emit_json,
    err_console,
    fail,
    progress,
    settings_from,
    workers_option,
)
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError
from childsafe.types import FileHashes

DEFAULT_TYPES = ("md5", "sha1", "sha256", "pdq")


def file_record(fh: FileHashes, types: tuple[str, ...]) -> dict[str, object]:
    """The JSON object of one file: every requested type (null when absent), and ``error``."""
    rec: dict[str, object] = {"path": fh.path}
    for t in types:
        rec[t] = fh.get(t)
        if t == "pdq":
            hv = fh.hashes.get("pdq")
            rec["pdq_quality"] = hv.quality if hv else None
    rec["error"] = fh.error or ("; ".join(f"{k}: {v}" for k, v in fh.errors.items()) or None)
    return rec


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--type",
    "-t",
    "types",
    multiple=True,
    help="Hash types to compute (repeatable): md5 sha1 sha256 pdq video_md5 vpdq. "
    "Default: md5 sha1 sha256 pdq, plus video_md5 and vpdq for videos.",
)
@workers_option("Worker processes.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout, one object per file.")
@click.pass_context
def hash_command(
    ctx: click.Context, paths: tuple[Path, ...], types: tuple[str, ...], workers: int, as_json: bool
) -> None:
    """Hash files and directories (recursively).

    With --json, each line is {"path", "md5", "sha1", "sha256", "pdq", "pdq_quality",
    "error"}: pdq is null for files that are not images, error is null or a message.
    Files that cannot be read are reported and the rest are still hashed (exit code 3).
    """
    from childsafe.hashing.api import hash_paths

    settings = settings_from(ctx)
    explicit = tuple(types)
    wanted = explicit or (*DEFAULT_TYPES, "video_md5", "vpdq")
    shown = explicit or DEFAULT_TYPES
    errors = 0
    try:
        with progress(not as_json) as bar:
            task = bar.add_task("hashing", total=None)
            for fh in hash_paths(list(paths), wanted, settings=settings, workers=workers):
                bar.advance(task)
                rec = file_record(fh, tuple(dict.fromkeys((*shown, *fh.hashes))))
                errors += bool(rec["error"])
                if as_json:
                    emit_json(rec)
                else:
                    _print_human(rec)
    except ChildsafeError as exc:
        fail(str(exc))
    if errors:
        err_console.print(f"{errors} file(s) could not be hashed")
        ctx.exit(int(ExitCode.ITEM_ERRORS))


def _print_human(rec: dict[str, object]) -> None:
    click.echo(str(rec["path"]))
    if rec["error"]:
        click.echo(f"  error: {rec['error']}")
    for key, value in rec.items():
        if key in ("path", "error", "pdq_quality") or value is None:
            continue
        extra = f"  (quality {rec['pdq_quality']})" if key == "pdq" else ""
        click.echo(f"  {key:<9} {value}{extra}")
