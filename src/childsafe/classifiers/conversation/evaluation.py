"""Evaluation of the conversation scorer on held-out synthetic conversations.

Reported the way the literature reports it, so figures can be set beside published ones
(and are *not* comparable to them: the data is synthetic and non-explicit):

* **pair level, F0.5** (PAN 2012 task 1, precision-weighted: a flagged pair is an
  accusation a reviewer must weigh) — a sender → recipient pair is positive when its sender is
  the conversation's groomer, predicted when its peak risk reaches the review threshold;
* **message level, F3** (PAN 2012 task 2, recall-weighted: a reviewer must not miss the lines
  that matter) — a message is positive when it is one of the groomer's pattern lines,
  predicted when it carries a signal (a stage or a Sentinel score) *and* its pair is flagged;
* **recall at a fixed review budget** (Sentinel's framing) — the share of groomer pairs found
  when reviewers read only the top 5 %, 10 % or 20 % of pairs — and the average precision of
  the pair ranking, both independent of the review threshold;
* **latency per message update** (embedding + scoring), p50/p99, streamed one at a time.

Three variants run on the same data: the full scorer, the stage rules alone (the baseline)
and Sentinel alone. Embeddings are computed once per distinct text and shared by the
variants; latency is measured separately with the real embedder, one message at a time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from childsafe.classifiers.base import ModelInfo
from childsafe.classifiers.conversation.exemplars import embedding_text, load_index
from childsafe.classifiers.conversation.messages import Message, parse_record
from childsafe.classifiers.conversation.risk import Weights
from childsafe.classifiers.conversation.scorer import ConversationScorer, score_messages
from childsafe.classifiers.conversation.sentinel import Embedder, SentinelIndex
from childsafe.classifiers.conversation.synth import GENERATOR_VERSION, SynthConversation, corpus
from childsafe.classifiers.evaluation import EvalReport, binary_metrics, latency_summary

VARIANTS: Mapping[str, Weights] = {
    "stages+sentinel": Weights(),
    "stages": Weights(stages=1.0, sentinel=0.0),
    "sentinel": Weights(stages=0.0, sentinel=1.0),
}
BUDGETS = (0.05, 0.10, 0.20)
NOTE = (
    "synthetic, non-explicit conversations generated from templates worded unlike the "
    "exemplars: figures show behaviour on this data, NOT real-world performance"
)


def average_precision(ranked_truth: Sequence[bool]) -> float:
    """Mean of the precision at each positive's rank (threshold-free ranking quality)."""
    hits, total = 0, 0.0
    for rank, positive in enumerate(ranked_truth, start=1):
        if positive:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def fbeta(tp: int, fp: int, fn: int, beta: float) -> float:
    """F-beta from counts; 0 when nothing was found."""
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denom if tp else 0.0


class CachedEmbedder:
    """Wraps an embedder with a table of precomputed vectors (evaluation only)."""

    def __init__(self, inner: Embedder, texts: Sequence[str]) -> None:
        self.inner = inner
        unique = sorted(set(texts))
        vectors = inner.embed(unique) if unique else np.zeros((0, 0), np.float32)
        self.table = dict(zip(unique, vectors, strict=True))

    @property
    def model(self) -> ModelInfo:
        return self.inner.model

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = [t for t in texts if t not in self.table]
        if missing:
            self.table.update(zip(missing, self.inner.embed(missing), strict=True))
        return np.stack([self.table[t] for t in texts]).astype(np.float32)


def _messages(conversations: Sequence[SynthConversation]) -> list[Message]:
    out = []
    for conv in conversations:
        for line, record in enumerate(conv.records, start=1):
            parsed = parse_record(record, line)
            if not isinstance(parsed, Message):  # generator bug, not an input problem
                raise AssertionError(parsed.error)
            out.append(parsed)
    return out


def _variant(
    name: str,
    weights: Weights,
    conversations: Sequence[SynthConversation],
    messages: Sequence[Message],
    embedder: Embedder | None,
    index: SentinelIndex | None,
) -> dict[str, Any]:
    scorer = ConversationScorer(embedder=embedder, index=index, weights=weights)
    updates = score_messages(messages, scorer)
    groomers = {c.conversation_id: c.groomer for c in conversations}
    positive_ids = {m for c in conversations for m in c.positive_ids}
    pairs = scorer.ranked()
    truth = [groomers[p.conversation_id] == p.sender for p in pairs]
    flagged = {p.key for p in pairs if p.flagged}
    msg_truth = [u.message.message_id in positive_ids for u in updates]
    msg_pred = [u.message.signalled and u.pair.key in flagged for u in updates]
    pair_m = binary_metrics("pair", truth, [p.flagged for p in pairs])
    msg_m = binary_metrics("message", msg_truth, msg_pred)
    n_pos = sum(truth)
    recall_at: dict[str, float] = {}
    for budget in BUDGETS:
        k = max(1, round(budget * len(pairs)))
        recall_at[f"top_{int(budget * 100)}pct"] = sum(truth[:k]) / n_pos if n_pos else 0.0
    recall_at["top_n_positive"] = sum(truth[:n_pos]) / n_pos if n_pos else 0.0
    return {
        "variant": name,
        "scorer": scorer,
        "metrics": [pair_m, msg_m],
        "pair_f0_5": fbeta(pair_m.tp, pair_m.fp, pair_m.fn, 0.5),
        "message_f3": fbeta(msg_m.tp, msg_m.fp, msg_m.fn, 3.0),
        "recall_at_budget": recall_at,
        "pair_average_precision": average_precision(truth),
        "n_pairs": len(pairs),
        "n_positive_pairs": n_pos,
    }


def measure_latency(
    messages: Sequence[Message],
    weights: Weights,
    embedder: Embedder | None,
    index: SentinelIndex | None,
    n: int,
) -> dict[str, float]:
    """Per-message wall time of streamed ``update`` calls (real embedding, no cache)."""
    scorer = ConversationScorer(embedder=embedder, index=index, weights=weights)
    scorer.setup()
    scorer.update(messages[0])  # first-call costs (BLAS warm-up) are not per-message costs
    times = []
    for m in messages[1 : n + 1]:
        t = time.perf_counter()
        scorer.update(m)
        times.append(time.perf_counter() - t)
    return latency_summary(times)


def _summary(result: Mapping[str, Any], review: float) -> str:
    at = result["recall_at_budget"]
    return (
        f"review threshold {review}: pair F0.5 {result['pair_f0_5']:.3f}, message F3 "
        f"{result['message_f3']:.3f}; recall in the top 5/10/20 % of pairs "
        f"{at['top_5pct']:.2f}/{at['top_10pct']:.2f}/{at['top_20pct']:.2f}, "
        f"ranking AP {result['pair_average_precision']:.3f}"
    )


def evaluate_conversations(
    *,
    n_benign: int = 300,
    n_grooming: int = 60,
    seed: int = 2025,
    embedder: Embedder | None = None,
    index: SentinelIndex | None = None,
    latency_messages: int = 300,
) -> list[EvalReport]:
    """Held-out figures of the scorer and its two baselines (one report per variant)."""
    conversations = corpus(n_benign, n_grooming, seed)
    messages = _messages(conversations)
    if embedder is None:
        from childsafe.classifiers.text.embedder import get_embedder

        embedder = get_embedder()
    index = index or load_index(embedder)
    cached = CachedEmbedder(embedder, [embedding_text(m.text) for m in messages])
    dataset = (
        f"synthetic held-out conversations v{GENERATOR_VERSION} (seed {seed}: "
        f"{n_benign} benign, {n_grooming} grooming-pattern)"
    )
    reports = []
    for name, weights in VARIANTS.items():
        result = _variant(name, weights, conversations, messages, cached, index)
        uses_embedder = weights.sentinel > 0
        latency = (
            measure_latency(
                messages,
                weights,
                embedder if uses_embedder else None,
                index if uses_embedder else None,
                latency_messages,
            )
            if latency_messages
            else {}
        )
        scorer: ConversationScorer = result.pop("scorer")
        reports.append(
            EvalReport(
                classifier=f"conversation_risk[{name}]",
                model=scorer.model,
                dataset=dataset,
                n_items=len(messages),
                metrics=result.pop("metrics"),
                latency=latency,
                notes=[NOTE, _summary(result, scorer.thresholds["review"])],
                extra={**result, "thresholds": dict(scorer.thresholds)},
            )
        )
    return reports
