"""``childsafe match``: check files or hashes against banks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

import click

from childsafe.cli._common import (
    emit_json,
    err_console,
    fail,
    index_dir,
    open_store,
    parse_type_value,
    progress,
    settings_from,
    workers_option,
)
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError
from childsafe.types import FileHashes, Match

MATCH_FIELDS = ("bank", "hash_type", "value", "distance", "entry_id", "label")
BATCH = 256  # PDQ queries are matched in batches: one kernel pass serves them all
HASH_TYPES = ("md5", "sha1", "sha256", "pdq", "video_md5", "vpdq")


def match_record(path: str | None, matches: list[Match], error: str | None) -> dict[str, Any]:
    """The JSON object of one input."""
    return {
        "path": path,
        "matches": [{k: v for k, v in asdict(m).items() if k in MATCH_FIELDS} for m in matches],
        "error": error,
    }


def _batches(items: Iterable[FileHashes], n: int) -> Iterator[list[FileHashes]]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


@click.command("match")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--bank",
    "-b",
    "bank_names",
    multiple=True,
    help="Bank to match against (repeatable). Default: every bank.",
)
@click.option(
    "--hash",
    "hash_specs",
    multiple=True,
    metavar="TYPE:VALUE",
    help="Match a hash you already have, e.g. pdq:<64 hex> (repeatable).",
)
@workers_option("Worker processes for hashing.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout, one object per input.")
@click.pass_context
def match_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    bank_names: tuple[str, ...],
    hash_specs: tuple[str, ...],
    workers: int,
    as_json: bool,
) -> None:
    """Match files, directories (recursively) or hashes against banks.

    Images match by PDQ within each bank's radius (default 31 bits), including flipped,
    rotated and letterboxed copies; all files match by md5/sha1/sha256, videos by video_md5
    and vPDQ. With --json, each line is {"path", "matches": [{"bank", "hash_type", "value",
    "distance", "entry_id", "label"}], "error"}, where value is the matched bank entry's hash.

    Exit code 0: no match; 1: a match; 3: no match but some inputs could not be processed;
    4: the command could not run.
    """
    from childsafe.hashing.api import hash_paths
    from childsafe.matching.matcher import Matcher

    if not paths and not hash_specs:
        raise click.UsageError("give PATH arguments or --hash TYPE:VALUE")
    queries = [parse_type_value(h) for h in hash_specs]
    settings = settings_from(ctx)
    found = errors = checked = 0

    def report(path: str | None, matches: list[Match], error: str | None) -> None:
        nonlocal found, errors, checked
        checked += 1
        found += bool(matches)
        errors += bool(error)
        if as_json:
            emit_json(match_record(path, matches, error))
        else:
            _print_human(path, matches, error)

    with open_store(settings) as store:
        try:
            if not store.list_banks():
                fail("no banks to match against: import one with `childsafe banks import`")
            matcher = Matcher(store, list(bank_names) or None, index_dir=index_dir(settings))
            matcher.sync()
            for hash_type, value in queries:
                report(f"{hash_type}:{value}", matcher.match_hash(hash_type, value), None)
            if paths:
                with progress(not as_json) as bar:
                    task = bar.add_task("matching", total=None)
                    hashed = hash_paths(
                        list(paths),
                        settings=settings,
                        workers=workers,
                        hash_types=_wanted(matcher.hash_types()),
                    )
                    for batch in _batches(hashed, BATCH):
                        results = matcher.match_many([fh.hashes for fh in batch])
                        for fh, matches in zip(batch, results, strict=True):
                            report(fh.path, matches, fh.error or _hash_errors(fh))
                        bar.advance(task, len(batch))
        except ChildsafeError as exc:
            fail(str(exc))
    if not as_json:
        err_console.print(
            f"checked {checked} input(s): {found} matched, {errors} could not be processed"
        )
    if found:
        ctx.exit(int(ExitCode.FOUND))
    if errors:
        ctx.exit(int(ExitCode.ITEM_ERRORS))


def _wanted(held: frozenset[str]) -> tuple[str, ...]:
    """The hash types worth computing: those some bank holds.

    A vPDQ decodes the whole video and a PDQ the whole image; for a type no bank holds that
    is work with no possible match. With empty banks md5 is still computed, so a file that
    cannot be read is still reported.
    """
    return tuple(t for t in HASH_TYPES if t in held) or ("md5",)


def _hash_errors(fh: FileHashes) -> str | None:
    return "; ".join(f"{k}: {v}" for k, v in fh.errors.items()) or None


def _print_human(path: str | None, matches: list[Match], error: str | None) -> None:
    if error:
        err_console.print(f"[red]error[/] {error}", markup=True, highlight=False)
    for m in matches:
        label = f" label={m.label}" if m.label else ""
        click.echo(
            f"MATCH {path}  bank={m.bank} {m.hash_type} distance={m.distance} "
            f"entry={m.entry_id}{label}"
        )
