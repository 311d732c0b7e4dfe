"""``childsafe assess models`` and ``childsafe assess sbd``: scan hosted models from their
metadata, and write the Safety by Design self-assessment from childsafe's own records.

\b
  childsafe assess models loras/ --out model_scan.json   # a folder of .safetensors + READMEs
  childsafe assess models --listing hub.jsonl --json     # a hub listing, JSON Lines out
  childsafe assess sbd --scan scan1/ --assessment run1/ --assessment model_scan.json --out sbd/
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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

if TYPE_CHECKING:
    from childsafe.assess.models.base import ModelResult
    from childsafe.storage import SqlBankStore


def _atomic_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


@click.command("models")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--listing",
    type=click.Path(path_type=Path),
    help='A hub listing: JSON Lines of {"id", "files", "card", "tags"}.',
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout, one per model.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Also write the whole scan (results and case-intake findings) to this JSON file.",
)
@click.pass_context
def models_command(
    ctx: click.Context, path: Path | None, listing: Path | None, as_json: bool, out: Path | None
) -> None:
    """Scan hosted models from their metadata, never their weights.

    Reads safetensors headers (LoRA training tags, dataset folders, modelspec title, trigger
    words), model cards (README.md beside the files) and names, and flags minor and sexual
    concepts that occur together, age-coded terms, stripped training metadata and metadata
    that does not add up. Every model gets one row: ok, flagged (with severity, reasons and
    evidence) or error. Findings are triage for human review, never a verdict.

    Exit code 0: nothing flagged; 1: something flagged; 2: bad input; 3: nothing flagged but
    some models could not be read.
    """
    from childsafe.assess.models.scanner import model_files, scan_folder, scan_listing

    if (path is None) == (listing is None):
        fail("give a PATH (file or folder of models) or --listing FILE, not both", ExitCode.USAGE)
    counts = {"total": 0, "ok": 0, "flagged": 0, "error": 0}
    rows: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    try:
        if path is not None:
            files = model_files(path)
            results: Iterator[ModelResult] = scan_folder(path, files)
            total: int | None = len(files)
        else:
            assert listing is not None
            if not listing.is_file():
                fail(f"{listing}: no such listing file", ExitCode.USAGE)
            results, total = scan_listing(listing), None
        with progress(not as_json) as bar:
            task = bar.add_task("scanning models", total=total)
            for result in results:
                counts["total"] += 1
                counts[result.status] += 1
                row = result.to_dict()
                if as_json:
                    emit_json(row)
                elif result.status != "ok":
                    _print_row(result)
                if out is not None:
                    rows.append(row)
                    finding = result.to_finding()
                    if finding is not None:
                        findings.append(finding)
                bar.advance(task)
    except ChildsafeError as exc:
        fail(str(exc), ExitCode.USAGE)
    if out is not None:
        _atomic_json(
            out,
            {
                "format": "childsafe-model-scan/1",
                "source": str(path if path is not None else listing),
                "generated_at": datetime.now(UTC).isoformat(),
                "counts": counts,
                "results": rows,
                "findings": findings,
            },
        )
    if not as_json:
        err_console.print(
            f"scanned {counts['total']} model(s): {counts['flagged']} flagged, "
            f"{counts['error']} could not be read"
        )
    if counts["flagged"]:
        ctx.exit(int(ExitCode.FOUND))
    if counts["error"]:
        ctx.exit(int(ExitCode.ITEM_ERRORS))


def _print_row(result: ModelResult) -> None:
    console = Console(highlight=False, soft_wrap=True)
    if result.status == "error":
        console.print(f"[red]error[/]   {result.model_id}: {result.error}", markup=True)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    for f in result.findings:
        table.add_row(f"  {f.severity}", f.rule, "; ".join(f.reasons))
    console.print(f"[bold]flagged[/] {result.model_id} ({result.severity})", markup=True)
    console.print(table)


# --- sbd ---------------------------------------------------------------------------------------


def _count_table(engine: Any, name: str) -> int | None:
    """Rows of a table another part of childsafe owns, or None where it does not exist yet
    (read by name so this command does not depend on that part's storage module)."""
    from sqlalchemy import func, inspect, select, table

    if not inspect(engine).has_table(name):
        return None
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())


def store_evidence(store: SqlBankStore, default_tenant: str) -> dict[str, Any]:
    """Banks, active policies, decision counts (every tenant) and reviewers of a store."""
    from childsafe.assess.sbd import BankRecord

    tenants = {default_tenant, *(t.name for t in store.access.list_tenants())}
    banks: list[BankRecord] = []
    decisions: dict[str, int] = {}
    policies = 0
    for tenant in sorted(tenants):
        banks += [
            BankRecord(f"{tenant}/{b.name}", b.version, b.entry_count)
            for b in store.for_tenant(tenant).list_banks()
        ]
        for (_source, _kind, decision), n in store.decisions.count_by(tenant).items():
            decisions[decision] = decisions.get(decision, 0) + n
        policies += store.policies.active(tenant) is not None
    return {
        "banks": tuple(banks),
        "decisions": decisions,
        "active_policies": policies,
        "reviewers": _count_table(store.engine, "reviewers"),
    }


def _store_evidence(settings: Settings) -> dict[str, Any]:
    """:func:`store_evidence` of the configured store; a store that cannot be read leaves
    those fields unknown (None) and says why: the report is still worth writing."""
    from childsafe.storage import open_store

    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.effective_database_url, settings=settings)
    except Exception as exc:  # a driver error we cannot name in advance
        return {"problems": (f"database: {type(exc).__name__}: {exc}",)}
    try:
        return store_evidence(store, settings.default_tenant)
    except Exception as exc:
        return {"problems": (f"database: {type(exc).__name__}: {exc}",)}
    finally:
        store.close()


@click.command("sbd")
@click.option(
    "--scan",
    "scans",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A `childsafe scan` output folder (repeatable).",
)
@click.option(
    "--assessment",
    "assessments",
    multiple=True,
    type=click.Path(path_type=Path),
    help="An `assess run` folder or an `assess models --out` file (repeatable).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write sbd.json/.md/.html here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def sbd_command(
    ctx: click.Context,
    scans: tuple[Path, ...],
    assessments: tuple[Path, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Safety by Design self-assessment (Develop / Deploy / Maintain) from childsafe's records.

    Each principle gets met / partial / not met / unknown with the evidence behind it: the
    dataset scans and model assessments given, the banks, policies, screening decisions and
    reviewers in the database, and the settings (reporting, provenance, second review,
    retention). Nothing is "met" without a record; "unknown" means childsafe has none.
    Without --out or --json the Markdown is printed.
    """
    from childsafe.assess.sbd import (
        Evidence,
        evaluate,
        load_assessment,
        load_scan,
        render_markdown,
        write_report,
    )

    settings = settings_from(ctx)
    try:
        scan_records = tuple(load_scan(p) for p in scans)
        assessment_records = tuple(load_assessment(p) for p in assessments)
    except ChildsafeError as exc:
        fail(str(exc), ExitCode.USAGE)
    evidence = Evidence(
        scans=scan_records,
        assessments=assessment_records,
        second_review=settings.second_review,
        reporting_configured=bool(settings.ncmec_username),
        reporting_environment=settings.ncmec_environment,
        provenance_configured=bool(settings.provenance_cert and settings.provenance_key),
        actions_configured=bool(settings.webhook_url and settings.webhook_secret),
        retention_days=settings.evidence_retention_days,
        **_store_evidence(settings),
    )
    report = evaluate(evidence)
    if out is not None:
        written = write_report(report, out)
        if not as_json:
            err_console.print("wrote " + ", ".join(str(p) for p in written.values()))
    if as_json:
        emit_json(report.to_dict())
    elif out is None:
        click.echo(render_markdown(report), nl=False)
