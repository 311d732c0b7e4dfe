"""What the conversation scorer returns: per-message scores, per-pair risks, file reports.

Results name messages by id, line and position and point at evidence by character offsets;
words appear only in ``excerpt``, which the scorer fills only when asked to include text,
because reports are copied around far more than the chats they were made from (DESIGN
rule 2). Every ``to_dict`` is JSON-able, for ``--json`` and the service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from childsafe.classifiers.base import Evidence, ModelInfo, Priority
from childsafe.classifiers.conversation.messages import LineError
from childsafe.classifiers.conversation.risk import WindowStats

PairKey = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class MessageScore:
    """What one message contributed: its Sentinel score, stages and their spans.

    ``excerpt`` (the matched words, at most 80 characters each) is filled only when the
    scorer was asked to include text; by default reports carry offsets and ids, never words.
    """

    message_id: str
    line: int | None
    index: int
    sentinel: float
    stages: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    excerpt: str | None = None
    error: str | None = None

    @property
    def signalled(self) -> bool:
        """Whether this message carries any signal (a stage or a non-zero Sentinel score)."""
        return bool(self.stages) or self.sentinel > 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": self.message_id,
            "line": self.line,
            "index": self.index,
            "sentinel": round(self.sentinel, 4),
            "stages": list(self.stages),
            "evidence": [
                {
                    k: v
                    for k, v in {
                        "label": e.label,
                        "detail": e.detail,
                        "start": e.start,
                        "end": e.end,
                        "score": None if e.score is None else round(e.score, 4),
                    }.items()
                    if v is not None
                }
                for e in self.evidence
            ],
        }
        if self.excerpt is not None:
            out["excerpt"] = self.excerpt
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class PairRisk:
    """The risk of one sender → recipient pair, with what drove it (for the review queue).

    In an update it is the pair's state after that message; in the review queue it is the
    state at the pair's peak, reached after ``peak_at`` of its ``n_messages`` messages.
    """

    conversation_id: str
    sender: str
    recipient: str | None
    risk: float
    priority: Priority
    flagged: bool
    n_messages: int
    stats: WindowStats
    drivers: tuple[MessageScore, ...]
    peak_at: int = 0

    @property
    def key(self) -> PairKey:
        return (self.conversation_id, self.sender, self.recipient)

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {
            "conversation_id": self.conversation_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "risk": round(self.risk, 4),
            "priority": self.priority.name.lower(),
            "flagged": self.flagged,
            "n_messages": self.n_messages,
            "peak_at": self.peak_at,
            "stages": list(s.stages),
            "stage_order": round(s.order, 4),
            "stage_messages": s.stage_messages,
            "stage_part": round(s.stage_part, 4),
            "sentinel_part": round(s.sentinel_part, 4),
            "sentinel_max": round(s.sentinel_max, 4),
            "sentinel_skew": round(s.sentinel_skew, 4),
            "drivers": [d.to_dict() for d in self.drivers],
        }


@dataclass(frozen=True, slots=True)
class PairUpdate:
    """The answer to one :meth:`ConversationScorer.update`: this message and its pair now."""

    message: MessageScore
    pair: PairRisk


@dataclass(slots=True)
class ConversationReport:
    """Per-pair risks (ranked), per-line errors and a file-level ``error`` if any."""

    source: str
    model: ModelInfo
    thresholds: dict[str, float]
    pairs: list[PairRisk] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    n_messages: int = 0
    truncated: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def flagged(self) -> list[PairRisk]:
        """Pairs at or over the review threshold, most urgent first."""
        return [p for p in self.pairs if p.flagged]

    def ranked(self, limit: int | None = None) -> list[PairRisk]:
        return self.pairs if limit is None else self.pairs[: max(0, limit)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; a file-level ``error`` also heads ``errors`` (with ``line`` null)."""
        errors = [e.to_dict() for e in self.errors]
        if self.error is not None:
            errors.insert(0, {"line": None, "message_id": None, "error": self.error})
        return {
            "source": self.source,
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "licence": self.model.licence,
            },
            "thresholds": dict(self.thresholds),
            "n_messages": self.n_messages,
            "n_pairs": len(self.pairs),
            "flagged_pairs": len(self.flagged),
            "truncated_messages": list(self.truncated),
            "ranked": [p.to_dict() for p in self.pairs],
            "errors": errors,
            "error": self.error,
        }
