"""Conversation (grooming-pattern) risk: a streaming scorer per sender → recipient pair.

Two signals, combined per pair over a bounded window of recent messages: the Sentinel
method (MiniLM embeddings compared with grooming-pattern and ordinary-chat exemplars,
skewness over the pair's scores) and stage rules (age probing, secrecy, platform moves, …,
each with its span). The output is a ranked review queue: triage for trained reviewers,
never a verdict. See docs/models/conversation-risk.md.

    from childsafe.classifiers.conversation import score_conversation_file
    report = score_conversation_file("chat.jsonl")
    for pair in report.ranked(10): ...
"""

from childsafe.classifiers.conversation.messages import LineError, Message, read_messages
from childsafe.classifiers.conversation.results import (
    ConversationReport,
    MessageScore,
    PairRisk,
    PairUpdate,
)
from childsafe.classifiers.conversation.risk import Weights
from childsafe.classifiers.conversation.scorer import (
    ConversationScorer,
    score_conversation_file,
    score_messages,
)

__all__ = [
    "ConversationReport",
    "ConversationScorer",
    "LineError",
    "Message",
    "MessageScore",
    "PairRisk",
    "PairUpdate",
    "Weights",
    "read_messages",
    "score_conversation_file",
    "score_messages",
]
