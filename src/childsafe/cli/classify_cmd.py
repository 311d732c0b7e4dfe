"""``childsafe classify``: risk scores for images, texts and conversations, for triage.

Scores route items to human review; they never decide anything on their own (DESIGN rule 3).
Content is read, scored and forgotten: nothing is written but the scores.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from childsafe.classifiers.base import Classifier, ClassifierResult
from childsafe.cli._classifiers import build_classifiers, classifier_options
from childsafe.cli._common import emit_json, err_console, fail, progress, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.content.base import Item, Provenance
from childsafe.errors import ChildsafeError
from childsafe.hashing.api import expand_paths

BATCH = 16
DEFAULT_IMAGE = ("image_risk",)
DEFAULT_TEXT = ("text_risk",)


def _read_text_file(path: str) -> Iterator[str]:
    """One text per line; ``-`` is stdin. Undecodable bytes become U+FFFD, never a crash."""
    if path == "-":
        stream = sys.stdin.buffer
        for raw in stream:
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
        return
    try:
        with Path(path).open("rb") as f:
            for raw in f:
                yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")


def _score(
    classifiers: list[Classifier], items: list[Item]
) -> list[tuple[Item, list[ClassifierResult]]]:
    results: list[list[ClassifierResult]] = [[] for _ in items]
    for classifier in classifiers:
        scored = classifier.classify_safely(items)
        for slot, result in zip(results, scored, strict=True):
            slot.append(result)
    return list(zip(items, results, strict=True))


def _record(item: Item, kind: str, results: list[ClassifierResult]) -> dict[str, Any]:
    errors = [f"{r.classifier}: {r.error}" for r in results if r.error]
    # Only results that ask for review count as flagged; other flags are informational signals.
    flagged = sorted(
        {f"{r.classifier}:{label}" for r in results if r.asks_review for label in r.flagged}
    )
    signals = sorted(
        {f"{r.classifier}:{label}" for r in results if not r.asks_review for label in r.flagged}
    )
    priority = max((r.priority for r in results), default=0)
    return {
        "id": item.id,
        "kind": kind,
        "flagged": flagged,
        "signals": signals,
        "priority": ["none", "low", "medium", "high"][int(priority)],
        "results": [r.to_dict() for r in results],
        "error": "; ".join(errors) or (item.error or None),
    }


def _print_record(rec: dict[str, Any]) -> None:
    scores = ", ".join(
        f"{r['classifier']}.{label}={score:.3f}"
        for r in rec["results"]
        for label, score in r["scores"].items()
    )
    status = "FLAGGED " + ",".join(rec["flagged"]) if rec["flagged"] else "ok"
    click.echo(f"{rec['id']}\t{status}\tpriority={rec['priority']}\t{scores}")
    for r in rec["results"]:
        for ev in r["evidence"]:
            where = (
                f" [{ev['start']}:{ev['end']}]"
                if "start" in ev
                else (f" box={ev['box']}" if "box" in ev else "")
            )
            click.echo(f"    {r['classifier']}.{ev['label']}{where}: {ev['detail']}")
    if rec["error"]:
        err_console.print(f"[yellow]{rec['id']}:[/] {rec['error']}", markup=True)


@click.command("classify")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", "-t", "texts", multiple=True,
              help="A text to score (repeatable): prompt, caption or generated text.")  # fmt: skip
@click.option("--text-file", "text_files", multiple=True, metavar="FILE",
              help="Score every line of FILE as one text ('-' reads stdin).")  # fmt: skip
@click.option("--conversation", "conversations", multiple=True, type=click.Path(path_type=Path),
              help="A chat log in JSON Lines (one message per line) to score for grooming "
                   "patterns, per pair of participants.")  # fmt: skip
@classifier_options("Default: image_risk for files, text_risk for texts.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Pairs to list per conversation file, riskiest first.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help="JSON Lines on stdout: one object per item or conversation file.")  # fmt: skip
@click.pass_context
def classify_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    texts: tuple[str, ...],
    text_files: tuple[str, ...],
    conversations: tuple[Path, ...],
    classifiers: tuple[str, ...],
    thresholds: tuple[str, ...],
    top: int,
    as_json: bool,
) -> None:
    """Score FILES (images; directories recurse), texts and conversations for review.

    \b
    Examples:
      childsafe classify photo.jpg uploads/
      childsafe classify --text "a prompt to check" --json
      childsafe classify --text-file prompts.txt
      childsafe classify --conversation chat.jsonl --top 10

    Scores are triage for human review, never a verdict. Conversation lines are
    {"conversation_id", "sender", "recipient", "text", "timestamp", "message_id"}.

    Exit code 0: nothing flagged; 1: something flagged for review; 3: nothing flagged but
    some inputs could not be scored; 2: bad usage.
    """
    if not (files or texts or text_files or conversations):
        raise click.UsageError("give FILES, --text, --text-file or --conversation")
    settings = settings_from(ctx)
    text_items = [
        Item(id=f"text:{i + 1}", text=t, provenance=Provenance(source="--text"))
        for i, t in enumerate(texts)
    ]
    for path in text_files:
        for n, line in enumerate(_read_text_file(path), start=1):
            text_items.append(
                Item(id=f"{path}:{n}", text=line, provenance=Provenance(source=path, row=n))
            )
    image_items = [Item.from_path(p) for p in expand_paths(files)]
    missing = [i.id for i in image_items if i.path is not None and not i.path.exists()]
    if missing:
        raise click.BadParameter(f"no such file: {missing[0]}", param_hint="FILES")

    image_names = classifiers or DEFAULT_IMAGE
    text_names = classifiers or DEFAULT_TEXT
    found = errors = False
    try:
        image_cls = build_classifiers(image_names, thresholds, settings) if image_items else []
        text_cls = build_classifiers(text_names, thresholds, settings) if text_items else []
        for c in [*image_cls, *text_cls]:
            c.setup()
    except ChildsafeError as exc:
        fail(str(exc))
    text_cls = [c for c in text_cls if "text" in c.kinds]
    image_cls = [c for c in image_cls if "image" in c.kinds]
    if text_items and not text_cls:
        raise click.BadParameter("none of these classifiers reads text", param_hint="--classifier")
    if image_items and not image_cls:
        raise click.BadParameter(
            "none of these classifiers reads images", param_hint="--classifier"
        )

    with progress(not as_json) as bar:
        task = bar.add_task("classifying", total=len(image_items) + len(text_items))
        for kind, items, chosen in (
            ("image", image_items, image_cls),
            ("text", text_items, text_cls),
        ):
            for start in range(0, len(items), BATCH):
                for item, results in _score(chosen, items[start : start + BATCH]):
                    rec = _record(item, kind, results)
                    found |= bool(rec["flagged"])
                    errors |= rec["error"] is not None
                    if as_json:
                        emit_json(rec)
                    else:
                        _print_record(rec)
                bar.advance(task, len(items[start : start + BATCH]))

    for conv_path in conversations:
        report = _conversation(conv_path, top)
        found |= bool(report.get("flagged_pairs"))
        errors |= bool(report.get("errors"))
        if as_json:
            emit_json(report)
        else:
            _print_conversation(report)

    if found:
        ctx.exit(int(ExitCode.FOUND))
    if errors:
        ctx.exit(int(ExitCode.ITEM_ERRORS))


def _conversation(path: Path, top: int) -> dict[str, Any]:
    try:
        from childsafe.classifiers.conversation.scorer import score_conversation_file
    except ImportError as exc:
        fail(f"conversation scoring is not available: {exc}")
    if not path.is_file():
        raise click.BadParameter(f"no such file: {path}", param_hint="--conversation")
    try:
        report = score_conversation_file(path)
    except ChildsafeError as exc:
        fail(f"{path}: {exc}")
    data: dict[str, Any] = report.to_dict()
    data["source"] = str(path)
    if isinstance(data.get("ranked"), list):
        data["ranked"] = data["ranked"][:top]
    return data


def _print_conversation(report: dict[str, Any]) -> None:
    ranked = report.get("ranked") or []
    click.echo(f"{report['source']}: {len(ranked)} pair(s) ranked")
    for pair in ranked:
        stages = ", ".join(pair.get("stages", []))
        click.echo(
            f"  {pair.get('conversation_id')}\t{pair.get('sender')} → {pair.get('recipient')}"
            f"\trisk={pair.get('risk', 0):.3f}\tstages: {stages or '-'}"
        )
    for error in report.get("errors") or []:
        if isinstance(error, dict):
            line = error.get("line")
            where = f"line {line}: " if line is not None else ""
            error = f"{where}{error.get('error')}"
        err_console.print(f"[yellow]{report['source']}:[/] {error}", markup=True)
