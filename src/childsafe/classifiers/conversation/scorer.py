"""Streaming conversation risk per (conversation, sender → recipient) pair.

Grooming is a property of one person's messages *to another*, over time, so the unit of
scoring is the directed pair: in one conversation the adult's lines and the child's replies
are scored apart (a child saying "im 12" is not probing anyone's age). Each pair keeps a
bounded window of its last ``window`` messages (default 100) — only scores, stage names and
evidence offsets, never the text — and after every message the pair's risk is recomputed from
that window (:mod:`~childsafe.classifiers.conversation.risk`). The review queue ranks pairs by
the *peak* risk they ever reached, with the messages that drove that peak, so a conversation
that moves on to small talk does not fall out of review.

Messages are taken in the order given (sort by timestamp upstream when a source interleaves).
Memory is bounded per pair; the number of pairs grows with the input, so a long-running
service calls :meth:`ConversationScorer.forget` when a conversation closes.

The embedder is injectable: unit tests pass a tiny deterministic fake (and an index built from
it); production uses the process-wide MiniLM embedder and the shipped exemplar index. With a
Sentinel weight of 0 nothing is embedded at all (the rules-only baseline).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from childsafe.classifiers.base import Evidence, ModelInfo, Priority
from childsafe.classifiers.conversation.exemplars import load_index
from childsafe.classifiers.conversation.messages import (
    MAX_LINE_BYTES,
    LineError,
    Message,
    read_messages,
)
from childsafe.classifiers.conversation.results import (
    ConversationReport,
    MessageScore,
    PairKey,
    PairRisk,
    PairUpdate,
)
from childsafe.classifiers.conversation.risk import Weights, window_stats
from childsafe.classifiers.conversation.sentinel import (
    MIN_SKEW_SCORES,
    Embedder,
    SentinelIndex,
)
from childsafe.classifiers.conversation.stages import DESCRIPTION, detect_normalized
from childsafe.classifiers.text.normalize import normalize
from childsafe.config import Settings

NAME = "conversation_risk"
VERSION = "1.0"
DEFAULT_THRESHOLDS: Mapping[str, float] = {"low": 0.3, "review": 0.6, "high": 0.8}
SENTINEL_DETAIL = "closer to grooming-pattern exemplars than to ordinary chat"
EXCERPT_CHARS = 80
MAX_DRIVERS = 12


@dataclass(slots=True)
class _Pair:
    window: deque[MessageScore]
    n: int = 0
    peak: PairRisk | None = None


@dataclass(slots=True)
class _Prepared:
    """A message's per-message signals, computed before it joins its pair's window."""

    message: Message
    stages: tuple[str, ...]
    evidence: list[Evidence] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    embed_text: str = ""


@cache
def _default_index() -> tuple[Embedder, SentinelIndex]:
    from childsafe.classifiers.text.embedder import get_embedder

    embedder = get_embedder()
    return embedder, load_index(embedder)


def _priority(risk: float, thresholds: Mapping[str, float]) -> Priority:
    if risk >= thresholds["high"]:
        return Priority.HIGH
    if risk >= thresholds["review"]:
        return Priority.MEDIUM
    if risk >= thresholds["low"]:
        return Priority.LOW
    return Priority.NONE


class ConversationScorer:
    """Scores chat messages as they arrive and keeps a ranked review queue of pairs.

    ``thresholds`` override the risk bands (``low``/``review``/``high``); ``review`` is the
    operating point: pairs at or over it are ``flagged`` for human review.
    """

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        index: SentinelIndex | None = None,
        weights: Weights | None = None,
        thresholds: Mapping[str, float] | None = None,
        window: int = 100,
        min_skew: int = MIN_SKEW_SCORES,
        include_text: bool = False,
    ) -> None:
        if window < min_skew:
            raise ValueError(f"window must hold at least {min_skew} messages, got {window}")
        if min_skew < 10:
            raise ValueError(f"skewness needs at least 10 scores, got min_skew={min_skew}")
        merged = dict(DEFAULT_THRESHOLDS)
        for label, value in (thresholds or {}).items():
            if label not in DEFAULT_THRESHOLDS:
                raise ValueError(f"{NAME}: unknown label {label!r} (known: low, review, high)")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{NAME}: threshold for {label!r} must be in [0, 1]")
            merged[label] = float(value)
        if not merged["low"] <= merged["review"] <= merged["high"]:
            raise ValueError(f"{NAME}: thresholds must satisfy low <= review <= high: {merged}")
        self.thresholds = merged
        self.weights = weights or Weights()
        self.window = window
        self.min_skew = min_skew
        self.include_text = include_text
        self._embedder = embedder
        self._index = index
        self._pairs: dict[PairKey, _Pair] = {}

    @property
    def use_sentinel(self) -> bool:
        return self.weights.sentinel > 0.0

    def setup(self) -> None:
        """Load the embedder and the exemplar index when Sentinel is on (idempotent)."""
        if not self.use_sentinel or (self._embedder is not None and self._index is not None):
            return
        if self._embedder is None:
            self._embedder, default = _default_index()
            self._index = self._index or default
        elif self._index is None:
            self._index = load_index(self._embedder)

    @property
    def model(self) -> ModelInfo:
        """This scorer's method version and, when Sentinel is on, its embedding model."""
        method = "+".join(
            name
            for name, weight in (
                ("stages", self.weights.stages),
                ("sentinel", self.weights.sentinel),
            )
            if weight > 0
        )
        parts = [f"{method or 'none'} {VERSION}"]
        if self.use_sentinel:
            self.setup()
            assert self._embedder is not None
            info = self._embedder.model
            parts.append(f"{info.name} {info.version}")
        return ModelInfo(NAME, "; ".join(parts), "Apache-2.0")

    # -- scoring -------------------------------------------------------------------------

    def update(self, message: Message) -> PairUpdate:
        """Score one message and return its pair's risk after it."""
        return self.update_many([message])[0]

    def update_many(self, messages: Sequence[Message]) -> list[PairUpdate]:
        """Score messages in order, embedding them in one batch; equal to ``update`` each."""
        prepared = [self._prepare(m) for m in messages]
        scores, errors = self._sentinel_scores(prepared)
        return [
            self._apply(p, float(s), err)
            for p, s, err in zip(prepared, scores, errors, strict=True)
        ]

    def _prepare(self, message: Message) -> _Prepared:
        norm = normalize(message.text)
        signals = detect_normalized(norm)
        p = _Prepared(message, tuple(dict.fromkeys(s.stage for s in signals)))
        for s in signals:
            p.evidence.append(Evidence(s.stage, DESCRIPTION[s.stage], s.start, s.end))
            p.spans.append((s.start, s.end))
        if self.use_sentinel:
            p.embed_text = norm.text
        return p

    def _sentinel_scores(
        self, prepared: Sequence[_Prepared]
    ) -> tuple[list[float], list[str | None]]:
        zeros = [0.0] * len(prepared)
        if not self.use_sentinel or not prepared:
            return zeros, [None] * len(prepared)
        self.setup()
        assert self._embedder is not None and self._index is not None
        try:
            vectors = self._embedder.embed([p.embed_text for p in prepared])
            return [float(s) for s in self._index.score(vectors)], [None] * len(prepared)
        except Exception as exc:  # a failed embedding is a per-message result, not a crash
            note = f"sentinel not scored: {type(exc).__name__}: {exc}"
            return zeros, [note] * len(prepared)

    def _apply(self, p: _Prepared, sentinel: float, error: str | None) -> PairUpdate:
        m = p.message
        key: PairKey = (m.conversation_id, m.sender, m.recipient)
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = _Pair(deque(maxlen=self.window))
        evidence = list(p.evidence)
        spans = list(p.spans)
        if sentinel > 0.0:
            evidence.append(Evidence("sentinel", SENTINEL_DETAIL, 0, len(m.text), score=sentinel))
            if not spans:
                spans.append((0, len(m.text)))
        scored = MessageScore(
            message_id=m.message_id,
            line=m.line,
            index=pair.n,
            sentinel=sentinel,
            stages=p.stages,
            evidence=tuple(evidence),
            excerpt=_excerpt(m.text, spans) if self.include_text and spans else None,
            error=error,
        )
        pair.window.append(scored)
        pair.n += 1
        current = self._assess(key, pair)
        if pair.peak is None or current.risk > pair.peak.risk:
            pair.peak = current
        return PairUpdate(scored, current)

    def _assess(self, key: PairKey, pair: _Pair) -> PairRisk:
        window = list(pair.window)
        stats = window_stats(
            [m.stages for m in window], [m.sentinel for m in window], self.weights, self.min_skew
        )
        return PairRisk(
            conversation_id=key[0],
            sender=key[1],
            recipient=key[2],
            risk=stats.risk,
            priority=_priority(stats.risk, self.thresholds),
            flagged=stats.risk >= self.thresholds["review"],
            n_messages=pair.n,
            peak_at=pair.n,
            stats=stats,
            drivers=_drivers(window),
        )

    # -- the review queue ----------------------------------------------------------------

    def pairs(self) -> list[PairRisk]:
        """Every pair's peak risk (with its current message count), in first-seen order."""
        return [replace(p.peak, n_messages=p.n) for p in self._pairs.values() if p.peak is not None]

    def ranked(self, limit: int | None = None) -> list[PairRisk]:
        """Pairs for reviewers, most urgent first (peak risk, then more distinct stages)."""
        ordered = sorted(
            self.pairs(),
            key=lambda r: (-r.risk, -len(r.stats.stages), r.conversation_id, r.sender),
        )
        return ordered if limit is None else ordered[: max(0, limit)]

    def forget(self, conversation_id: str) -> list[PairRisk]:
        """Drop a closed conversation's pairs, returning their final peaks."""
        keys = [k for k in self._pairs if k[0] == conversation_id]
        gone = [self._pairs.pop(k) for k in keys]
        return [replace(p.peak, n_messages=p.n) for p in gone if p.peak is not None]


def _drivers(window: Iterable[MessageScore]) -> tuple[MessageScore, ...]:
    """The messages a reviewer should read first: the first message of each stage and the
    three highest Sentinel scores of the window, in chronological order."""
    chosen: dict[int, MessageScore] = {}
    seen: set[str] = set()
    items = list(window)
    for m in items:
        new = [s for s in m.stages if s not in seen]
        if new:
            seen.update(new)
            chosen[m.index] = m
    for m in sorted((m for m in items if m.sentinel > 0), key=lambda m: -m.sentinel)[:3]:
        chosen[m.index] = m
    ordered = [chosen[i] for i in sorted(chosen)]
    return tuple(ordered[:MAX_DRIVERS])


def _excerpt(text: str, spans: Sequence[tuple[int, int]]) -> str:
    parts = []
    for start, end in sorted(set(spans)):
        piece = text[start:end]
        parts.append(piece if len(piece) <= EXCERPT_CHARS else piece[: EXCERPT_CHARS - 1] + "…")
    return " … ".join(parts)


def score_messages(
    messages: Iterable[Message], scorer: ConversationScorer, batch: int = 64
) -> list[PairUpdate]:
    """Feed ``messages`` to ``scorer`` in batches (one embedding call per batch)."""
    updates: list[PairUpdate] = []
    chunk: list[Message] = []
    for m in messages:
        chunk.append(m)
        if len(chunk) >= batch:
            updates += scorer.update_many(chunk)
            chunk = []
    if chunk:
        updates += scorer.update_many(chunk)
    return updates


def score_conversation_file(
    path: str | Path,
    *,
    scorer: ConversationScorer | None = None,
    include_text: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_chars: int | None = None,
    batch: int = 64,
) -> ConversationReport:
    """Score every message of a JSON Lines conversation file, for ``classify --conversation``.

    Bad lines become per-line errors and the rest is scored. ``include_text`` applies to the
    default scorer (a given ``scorer`` keeps its own). A missing or unreadable file, or one
    with no messages, gives a report whose ``error`` says so; a missing text model raises
    ``ConfigError`` (a set-up problem, not the file's).
    """
    scorer = scorer or ConversationScorer(include_text=include_text)
    scorer.setup()
    limit = max_chars if max_chars is not None else Settings().text_max_chars
    report = ConversationReport(str(path), scorer.model, dict(scorer.thresholds))
    chunk: list[Message] = []
    try:
        for result in read_messages(path, max_line_bytes=max_line_bytes, max_chars=limit):
            if isinstance(result, LineError):
                report.errors.append(result)
                continue
            report.n_messages += 1
            if result.truncated:
                report.truncated.append(result.message_id)
            chunk.append(result)
            if len(chunk) >= batch:
                scorer.update_many(chunk)
                chunk.clear()
        scorer.update_many(chunk)
    except OSError as exc:  # what was read before the failure is still reported
        report.error = f"{path}: cannot read: {exc.strerror or exc}"
    report.pairs = scorer.ranked()
    if report.error is None and not report.n_messages:
        report.error = (
            f"{path}: no line could be scored ({len(report.errors)} errors)"
            if report.errors
            else f"{path}: no messages (empty file)"
        )
    return report
