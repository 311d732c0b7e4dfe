"""``childsafe eval``: measured precision, recall, F1 and latency of the bundled classifiers.

Runs each classifier on its held-out evaluation set (synthetic, generated from templates the
training never saw; benign photos for images) and prints per-label figures with 95 %
intervals. The figures in docs/models/ come from this command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from childsafe.cli._common import err_console, fail
from childsafe.errors import ChildsafeError

SUITES: dict[str, str] = {
    "text": "childsafe.classifiers.text.evaluation:evaluate_text",
    "image": "childsafe.classifiers.image.evaluation:evaluate_images",
    "conversation": "childsafe.classifiers.conversation.evaluation:evaluate_conversations",
}


def _load(target: str) -> Callable[[], list[Any]]:
    import importlib

    module, _, attr = target.partition(":")
    fn: Callable[[], list[Any]] = getattr(importlib.import_module(module), attr)
    return fn


def _ci(pair: list[float]) -> str:
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _print(report: dict[str, Any]) -> None:
    model = report["model"]
    click.echo(
        f"\n{report['classifier']} on {report['dataset']} ({report['n_items']:,} items) — "
        f"{model['name']} {model['version']} ({model['licence']})"
    )
    if report["metrics"]:
        click.echo(
            f"  {'label':<28}{'n':>6}{'precision':>11}{'recall':>9}{'F1':>8}{'FPR':>8}"
            f"   F1 95% CI        FPR 95% CI"
        )
    for m in report["metrics"]:
        click.echo(
            f"  {m['label']:<28}{m['n']:>6}{m['precision']:>11.3f}{m['recall']:>9.3f}"
            f"{m['f1']:>8.3f}{m['fpr']:>8.3f}   {_ci(m['f1_ci'])}  {_ci(m['fpr_ci'])}"
        )
    lat = report.get("latency") or {}
    if lat.get("n"):
        click.echo(
            f"  latency per item: p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
            f"max {lat['max_ms']:.1f} ms (n={lat['n']})"
        )
    for note in report.get("notes") or []:
        click.echo(f"  note: {note}")


@click.command("eval")
@click.option("--suite", "suites", multiple=True, type=click.Choice([*SUITES, "all"]),
              default=("all",), show_default=True,
              help="Which evaluation to run (repeatable).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON array of reports on stdout.")
def eval_command(suites: tuple[str, ...], as_json: bool) -> None:
    """Evaluate the bundled classifiers on their held-out sets.

    \b
    text          text_risk on the held-out synthetic prompts (minor, sexual, risk),
                  including the false-positive rate on benign prompts about children
    image         nsfw and face_age on benign photos only: nudity recall cannot be
                  measured here, because no such material may be held
    conversation  grooming-pattern scorer on held-out synthetic conversations

    All data is synthetic or benign; figures say how the models behave on it, not how
    they will behave on real traffic. See docs/models/ for each model card.
    """
    chosen = list(SUITES) if "all" in suites else list(dict.fromkeys(suites))
    reports: list[dict[str, Any]] = []
    for suite in chosen:
        err_console.print(f"evaluating {suite}…", highlight=False)
        try:
            for report in _load(SUITES[suite])():
                reports.append(report.to_dict())
                if not as_json:
                    _print(reports[-1])
        except ImportError as exc:
            fail(f"{suite}: the models are not installed ({exc}); see docs/models/")
        except ChildsafeError as exc:
            fail(f"{suite}: {exc}")
    if as_json:
        sys.stdout.write(json.dumps(reports, ensure_ascii=False) + "\n")
