"""Per-tenant streaming conversation risk for chat messages.

Each tenant has one ``ConversationScorer`` (its pairs never mix with another tenant's), fed one
message at a time under a lock (the scorer keeps per-pair windows and is not thread-safe).
The scorer's ``risk`` does not depend on thresholds, so the policy rule's
``conversation_risk`` thresholds are applied here, to the risk it returns: a new policy
version changes the bands at once without losing any pair's history.

Memory stays bounded: the scorer keeps per-pair windows until told a conversation ended, so
the least recently active conversations beyond ``max_conversations`` per tenant are
forgotten (:meth:`Conversations.end` does it explicitly when a platform closes a chat).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from childsafe.classifiers.base import ClassifierResult, Priority
from childsafe.classifiers.conversation.messages import Message
from childsafe.classifiers.conversation.scorer import (
    DEFAULT_THRESHOLDS,
    NAME,
    ConversationScorer,
)


@dataclass(slots=True)
class _Tenant:
    scorer: ConversationScorer
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def band(risk: float, thresholds: Mapping[str, float]) -> Priority:
    """The review priority of a pair's risk under ``low``/``review``/``high`` thresholds."""
    if risk >= thresholds["high"]:
        return Priority.HIGH
    if risk >= thresholds["review"]:
        return Priority.MEDIUM
    if risk >= thresholds["low"]:
        return Priority.LOW
    return Priority.NONE


class Conversations:
    """Tenant-isolated conversation scorers; see the module docstring."""

    def __init__(
        self,
        *,
        max_conversations: int = 10_000,
        factory: Callable[[], ConversationScorer] = ConversationScorer,
    ) -> None:
        if max_conversations < 1:
            raise ValueError(f"max_conversations must be at least 1, got {max_conversations}")
        self.max_conversations = max_conversations
        self.factory = factory
        self._tenants: dict[str, _Tenant] = {}
        self._lock = threading.Lock()

    def _tenant(self, tenant: str) -> _Tenant:
        with self._lock:
            found = self._tenants.get(tenant)
            if found is None:
                found = self._tenants[tenant] = _Tenant(self.factory())
            return found

    def update(
        self, tenant: str, message: Message, thresholds: Mapping[str, float]
    ) -> tuple[ClassifierResult, str | None]:
        """The message's pair risk as a classifier result, and a problem note if the
        embedding part could not be scored (the stage rules still were)."""
        bands = {**DEFAULT_THRESHOLDS, **thresholds}
        state = self._tenant(tenant)
        with state.lock:
            update = state.scorer.update(message)
            state.recent[message.conversation_id] = None
            state.recent.move_to_end(message.conversation_id)
            while len(state.recent) > self.max_conversations:
                oldest, _ = state.recent.popitem(last=False)
                state.scorer.forget(oldest)
            model = state.scorer.model
        pair = update.pair
        priority = band(pair.risk, bands)
        result = ClassifierResult(
            NAME,
            model,
            scores={"risk": pair.risk, "sentinel": update.message.sentinel},
            thresholds=bands,
            flagged=("risk",) if pair.risk >= bands["review"] else (),
            evidence=update.message.evidence,
            priority=priority,
            details={
                "pair_messages": pair.n_messages,
                "stages": list(pair.stats.stages),
                "message_stages": list(update.message.stages),
            },
        )
        return result, update.message.error

    def warm_up(self, tenant: str) -> None:
        """Load the tenant's scorer's models (embedder, exemplar index) now."""
        self._tenant(tenant).scorer.setup()

    def end(self, tenant: str, conversation_id: str) -> int:
        """Forget a closed conversation's pairs; returns how many pairs were dropped."""
        with self._lock:
            state = self._tenants.get(tenant)
        if state is None:
            return 0
        with state.lock:
            state.recent.pop(conversation_id, None)
            return len(state.scorer.forget(conversation_id))
