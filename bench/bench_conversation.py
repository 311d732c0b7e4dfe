"""Benchmark the conversation scorer against its baselines on held-out synthetic chats.

    python bench/bench_conversation.py                    # 300 benign + 60 grooming-pattern
    python bench/bench_conversation.py --seed 7 --json    # another draw, machine-readable

Variants, on the same conversations and the same embeddings:

* ``stages`` — **baseline**: the stage rules alone (regex/lexicon on normalised text);
* ``sentinel`` — the Sentinel method alone (MiniLM + exemplar index, max and skewness);
* ``stages+sentinel`` — the shipped scorer.

Columns: pair-level precision / recall / F0.5 at the review threshold (PAN 2012 task 1),
message-level precision / recall / F3 (task 2), recall when reviewers read only the top 5 %,
10 % or 20 % of pairs, the average precision (AP) of the pair ranking, and the latency of one
streamed message update (p50 / p99, one core, real embedding). The data is synthetic and
non-explicit: these figures compare variants; they say nothing about real-world performance.
"""

from __future__ import annotations

import argparse
import json
import time

from childsafe.classifiers.conversation.evaluation import evaluate_conversations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-benign", type=int, default=300)
    parser.add_argument("--n-grooming", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--latency", type=int, default=500, help="messages timed per variant")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    reports = evaluate_conversations(
        n_benign=args.n_benign,
        n_grooming=args.n_grooming,
        seed=args.seed,
        latency_messages=args.latency,
    )
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
        return 0
    first = reports[0]
    extra = first.extra
    print(f"{first.dataset}: {first.n_items:,} messages, {extra['n_pairs']} pairs, "
          f"{extra['n_positive_pairs']} groomer pairs; review threshold "
          f"{extra['thresholds']['review']}")  # fmt: skip
    header = (
        f"{'variant':<18}{'pair P':>8}{'R':>7}{'F0.5':>7}{'msg P':>8}{'R':>7}{'F3':>7}"
        f"{'R@5%':>7}{'R@10%':>7}{'R@20%':>7}{'AP':>7}{'p50 ms':>8}{'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in reports:
        pair, msg = r.metrics
        at = r.extra["recall_at_budget"]
        name = r.classifier.removeprefix("conversation_risk[").removesuffix("]")
        if name == "stages":
            name += " (baseline)"
        lat = r.latency
        print(
            f"{name:<18}{pair.precision:>8.3f}{pair.recall:>7.3f}{r.extra['pair_f0_5']:>7.3f}"
            f"{msg.precision:>8.3f}{msg.recall:>7.3f}{r.extra['message_f3']:>7.3f}"
            f"{at['top_5pct']:>7.3f}{at['top_10pct']:>7.3f}{at['top_20pct']:>7.3f}"
            f"{r.extra['pair_average_precision']:>7.3f}"
            f"{lat.get('p50_ms', float('nan')):>8.2f}{lat.get('p99_ms', float('nan')):>8.2f}"
        )
    print("\n95% intervals (pair recall): " + "; ".join(
        f"{r.classifier}: [{r.metrics[0].recall_ci[0]:.2f}, {r.metrics[0].recall_ci[1]:.2f}]"
        for r in reports
    ))  # fmt: skip
    took = time.perf_counter() - start
    print(f"synthetic data: not a measure of real-world performance ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
