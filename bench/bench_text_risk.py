"""text_risk on the held-out synthetic prompts, next to a patterns-only baseline, on one core.

Both systems score the same held-out sentences (``heldout.json``: no frame and no word shared
with training). The baseline is the lexicon alone (``childsafe.classifiers.text.patterns``,
noisy-OR >= 0.15 per factor, chosen on the training sentences; risk when a minor and a mild
term are linked in one clause): what a rules-only screener gets. text_risk adds the MiniLM
heads. Each prompt is its own ``classify`` call, timed, with BLAS held to one thread, which
is the latency a screening service sees per prompt.

Run ``python bench/bench_text_risk.py [--per-class N] [--json FILE]``; see
docs/models/text-risk.md for the figures and the machine they were taken on.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from childsafe.classifiers.evaluation import EvalReport, LabelMetrics
from childsafe.classifiers.text import synth
from childsafe.classifiers.text.evaluation import evaluate_text

TARGET_RISK_F1 = 0.9
TARGET_FPR_BENIGN_CHILD = 0.01
TARGET_P99_MS = 20.0


def _ci(m: LabelMetrics, which: str) -> str:
    lo, hi = getattr(m, f"{which}_ci")
    return f"{getattr(m, which):.3f} [{lo:.3f}, {hi:.3f}]"


def table(reports: list[EvalReport]) -> str:
    """A Markdown table: one row per system, the figures the targets are about."""
    head = (
        "| system | risk P | risk R | risk F1 [95% CI] | FPR benign-child [95% CI] "
        "| FPR mixed-subject | R obfuscated | minor F1 | sexual F1 | p50 ms | p99 ms |"
    )
    rows = [head, "|" + "---|" * 11]
    for r in reports:
        m = {x.label: x for x in r.metrics}
        rows.append(
            f"| {r.classifier} | {m['risk'].precision:.3f} | {m['risk'].recall:.3f} "
            f"| {_ci(m['risk'], 'f1')} | {_ci(m['risk | benign_child'], 'fpr')} "
            f"| {m['risk | mixed_subject'].fpr:.3f} | {m['risk | obfuscated'].recall:.3f} "
            f"| {m['minor'].f1:.3f} | {m['sexual'].f1:.3f} "
            f"| {r.latency['p50_ms']:.2f} | {r.latency['p99_ms']:.2f} |"
        )
    return "\n".join(rows)


def per_label(report: EvalReport) -> str:
    rows = [f"{report.classifier}: per label (P / R / F1 [95% CI] / FPR)"]
    for m in report.metrics[:3]:
        rows.append(
            f"  {m.label:<7} P {_ci(m, 'precision')}  R {_ci(m, 'recall')}  "
            f"F1 {_ci(m, 'f1')}  FPR {_ci(m, 'fpr')}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-class", type=int, default=None, help="sentences per class (default: full set)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the reports as JSON")
    args = parser.parse_args(argv)

    samples = None
    if args.per_class is not None:
        sizes = dict.fromkeys(synth.CLASS_LABELS, args.per_class)
        samples = synth.generate(synth.load_templates("heldout"), sizes, seed=synth.HELDOUT_SEED)
    reports = evaluate_text(samples)
    model = reports[0]
    print(f"held-out: {model.n_items} prompts; {model.model.name} {model.model.version}")
    print(f"machine: {platform.processor() or platform.machine()}, one BLAS thread\n")
    print(table(reports))
    print()
    for report in reports:
        print(per_label(report))
    m = {x.label: x for x in model.metrics}
    checks = {
        f"risk F1 >= {TARGET_RISK_F1}": m["risk"].f1 >= TARGET_RISK_F1,
        f"risk FPR on benign-child <= {TARGET_FPR_BENIGN_CHILD:.0%}": m["risk | benign_child"].fpr
        <= TARGET_FPR_BENIGN_CHILD,
        f"latency p99 <= {TARGET_P99_MS:.0f} ms": model.latency["p99_ms"] <= TARGET_P99_MS,
    }
    print()
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    for note in model.notes:
        print(f"note: {note}")
    if args.json:
        out: dict[str, Any] = {
            "reports": [r.to_dict() for r in reports],
            "targets": checks,
            "machine": platform.platform(),
        }
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
