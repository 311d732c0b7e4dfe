"""``childsafe scan``: scan datasets against banks into results, quarantine and a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from childsafe.cli._classifiers import build_classifiers, classifier_options
from childsafe.cli._common import err_console, fail, index_dir, open_store, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError

HASH_TYPES = ("md5", "sha1", "sha256", "pdq", "video_md5", "vpdq")


def _bar() -> Progress:
    """Shards drive the bar and the ETA; items/s is the number users care about."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shards · {task.fields[items]:,} items · {task.fields[rate]:,.0f} items/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


@click.command("scan")
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path),
              help="Output directory (must be new or empty, unless --resume).")  # fmt: skip
@click.option("--bank", "-b", "banks", multiple=True,
              help="Bank to match against (repeatable). Default: every bank.")  # fmt: skip
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Where shards run.")  # fmt: skip
@click.option("--address", help="Ray cluster address (with --executor ray).")
@click.option("--workers", "-w", type=click.IntRange(min=1),
              help="Worker processes (default: one per CPU).")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue an interrupted scan in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--hash", "hash_types", multiple=True, type=click.Choice(HASH_TYPES),
              help="Hash type to compute (repeatable). Default: md5, sha256, pdq and "
                   "whatever the banks hold.")  # fmt: skip
@click.option("--shard-size", type=click.IntRange(min=1),
              help="Items per folder/tar shard, rows per table shard.")  # fmt: skip
@click.option("--decoy-ratio", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Decoys per quarantined item in the published removal list.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for decoy choice.")
@click.option("--write-clean", is_flag=True,
              help="Also write clean copies of the shards without quarantined items.")  # fmt: skip
@classifier_options(
    "Default: none (hash matching only). Image classifiers score images, text_risk "
    "scores captions; a flag sends the item to review, never to block."
)
@click.pass_context
def scan_command(
    ctx: click.Context,
    sources: tuple[str, ...],
    out: Path,
    banks: tuple[str, ...],
    executor: str,
    address: str | None,
    workers: int | None,
    resume: bool,
    as_json: bool,
    hash_types: tuple[str, ...],
    shard_size: int | None,
    decoy_ratio: float,
    seed: int,
    write_clean: bool,
    classifiers: tuple[str, ...],
    thresholds: tuple[str, ...],
) -> None:
    """Scan dataset SOURCES (folders, WebDataset tars, Parquet/CSV/JSONL tables, Hugging
    Face datasets) against hash banks, and optionally risk classifiers.

    \b
    Writes to --out: results.parquet (one row per item), quarantine.parquet, the removal
    list, summary.json and report.html. Nothing is copied from flagged content.
    A killed scan continues with --resume (same options).

    Exit code 0: nothing quarantined; 1: something was (blocked or for review);
    3: nothing quarantined but some items could not be checked; 4: the scan could not run.
    """
    from childsafe.scan.config import ScanConfig
    from childsafe.scan.run import ScanProgress, run_scan

    settings = settings_from(ctx)
    if thresholds and not classifiers:
        raise click.BadParameter("--threshold needs --classifier", param_hint="--threshold")
    chosen = build_classifiers(classifiers, thresholds, settings)
    config = ScanConfig(
        sources=list(sources),
        out=out,
        banks=list(banks),
        hash_types=tuple(hash_types) or None,
        executor=executor,
        workers=workers,
        address=address,
        resume=resume,
        shard_options={"shard_size": shard_size} if shard_size else {},
        decoy_ratio=decoy_ratio,
        seed=seed,
        write_clean=write_clean,
        classifiers=chosen,
        settings=settings,
        index_dir=index_dir(settings),
    )
    with open_store(settings) as store, _bar() as bar:
        task = bar.add_task("scanning", total=None, items=0, rate=0.0)

        def progress(p: ScanProgress) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = p.items / elapsed if elapsed > 0 else 0.0
            bar.update(task, total=p.shards_total, completed=p.shards_done, items=p.items,
                       rate=rate)  # fmt: skip

        try:
            summary = run_scan(config, store, progress=progress)
        except ChildsafeError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted: finished shards are saved; rerun with --resume to continue")
    if as_json:
        sys.stdout.write(json.dumps(_jsonable(summary.data), ensure_ascii=False) + "\n")
    else:
        _print_summary(summary)
    if summary.quarantined:
        ctx.exit(int(ExitCode.FOUND))
    if summary.errors:
        ctx.exit(int(ExitCode.ITEM_ERRORS))


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _print_summary(summary: Any) -> None:
    d = summary.by_decision
    click.echo(
        f"scanned {summary.items:,} item(s): {d.get('block', 0):,} blocked, "
        f"{d.get('review', 0):,} for review, {d.get('error', 0):,} errors, "
        f"{d.get('allow', 0):,} allowed"
    )
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    click.echo(f"report: {summary.out_dir / 'report.html'}")
