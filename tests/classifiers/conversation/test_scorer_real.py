"""The scorer with the real MiniLM embedder and the shipped exemplar index, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from childsafe.classifiers.base import Priority
from childsafe.classifiers.conversation.exemplars import load_index
from childsafe.classifiers.conversation.messages import Message
from childsafe.classifiers.conversation.scorer import ConversationScorer, score_conversation_file
from childsafe.classifiers.conversation.sentinel import SentinelIndex

Chat = Callable[..., list[Message]]

# Two kids chatting about games, school and weekend plans; one confuser (moving to Discord
# to play together). Long enough for the skewness statistic to apply to both pairs.
BENIGN_A = [
    "u on tonight?",
    "we need more iron for the portal",
    "did you finish the science worksheet",
    "my mom made tacos lol",
    "the new update added horses",
    "add me on discord so we can play",
    "the quiz tomorrow is on chapter 4",
    "i'm so tired",
    "gg that was close",
    "want to build a castle",
    "my dog keeps barking at the mailman",
    "practice got moved to thursday",
    "did you watch the new episode",
    "i got a b on the essay",
    "brb dinner",
    "back",
    "the creeper blew up our farm",
    "lets rebuild it tomorrow",
    "my brother took my headphones",
    "ok bye see you at school",
    "wait one more round",
    "ok now bye",
    "do you have the math answers for 3",
    "its 42 i think",
    "cool thanks",
    "lol",
    "haha",
    "night",
    "night!",
    "see ya",
]
BENIGN_B = [
    "yeah after homework",
    "i have like 20",
    "almost",
    "yum",
    "no way",
    "ok sent you a request",
    "ugh",
    "same",
    "gg",
    "yes!!",
    "lol",
    "ok",
    "not yet no spoilers",
    "nice",
    "ok",
    "wb",
    "noooo",
    "ok",
    "tell your mom",
    "bye",
    "fine",
    "bye",
    "i think 42",
    "yep",
    "np",
    "lol",
    "haha",
    "night",
    "night",
    "bye",
]

# (text from the adult, reply from the child): stages in order, among ordinary lines.
GROOMING = [
    ("hey nice build", "thanks"),
    ("what games do you play", "minecraft mostly"),
    ("you're so mature for your age", "lol thanks"),
    ("i can send you game currency if you want", "really?"),
    ("how old are you", "12"),
    ("cool what did you do today", "school"),
    ("are your parents home right now", "no theyre at work"),
    ("don't tell your parents about our chats ok", "ok"),
    ("that boss fight was crazy", "yeah"),
    ("add me on another app, its easier", "which one"),
    ("do you have a picture you can share", "idk"),
    ("we should meet up sometime", "maybe"),
]
STAGE_MESSAGES = {
    "m4": "flattery",
    "m6": "gifts",
    "m8": "age_probe",
    "m12": "isolation",
    "m14": "secrecy",
    "m18": "platform_move",
    "m20": "photo_request",
    "m22": "meeting_request",
}


@pytest.fixture(scope="module")
def index(real_embedder: Any) -> SentinelIndex:
    return load_index(real_embedder, cache_dirs=None)


def grooming_chat(chat: Chat) -> list[Message]:
    turns = [t for a, b in GROOMING for t in (("adult", "kid", a), ("kid", "adult", b))]
    return chat(*turns)


def test_benign_long_conversation_scores_low(
    real_embedder: Any, index: SentinelIndex, chat: Chat
) -> None:
    turns = [
        t for a, b in zip(BENIGN_A, BENIGN_B, strict=True) for t in (("a", "b", a), ("b", "a", b))
    ]
    s = ConversationScorer(embedder=real_embedder, index=index)
    s.update_many(chat(*turns))
    for pair in s.ranked():
        assert pair.n_messages == 30
        assert not pair.flagged, pair
        assert pair.priority <= Priority.LOW
        assert pair.risk < 0.4


def test_grooming_pattern_conversation_scores_high_with_the_right_drivers(
    real_embedder: Any, index: SentinelIndex, chat: Chat
) -> None:
    s = ConversationScorer(embedder=real_embedder, index=index)
    s.update_many(grooming_chat(chat))
    adult, kid = s.ranked()
    assert (adult.sender, kid.sender) == ("adult", "kid")
    assert adult.flagged and adult.priority is Priority.HIGH
    assert adult.risk > 0.8 > kid.risk
    assert not kid.flagged
    found = {d.message_id: d.stages for d in adult.drivers}
    for message_id, stage in STAGE_MESSAGES.items():
        assert stage in found.get(message_id, ()), (message_id, stage)
    assert adult.stats.order == 1.0
    assert adult.stats.sentinel_max > 0.1
    # The ordinary lines in between did not drive anything.
    assert {"m0", "m2", "m10", "m16"}.isdisjoint(found)


def test_streaming_matches_batch_with_the_real_embedder(
    real_embedder: Any, index: SentinelIndex, chat: Chat
) -> None:
    messages = grooming_chat(chat)[:8]
    one = ConversationScorer(embedder=real_embedder, index=index)
    streamed = [one.update(m).message.sentinel for m in messages]
    batched = [
        u.message.sentinel
        for u in ConversationScorer(embedder=real_embedder, index=index).update_many(messages)
    ]
    # Padding in a batch moves MiniLM's float32 output by ~1e-6.
    assert streamed == pytest.approx(batched, abs=1e-4)


def test_default_scorer_on_a_file(tmp_path: Path, chat: Chat) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [
        {"conversation_id": m.conversation_id, "sender": m.sender, "recipient": m.recipient,
         "text": m.text, "message_id": m.message_id}
        for m in grooming_chat(chat)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    report = score_conversation_file(path)
    assert report.error is None and not report.errors
    assert report.ranked(1)[0].sender == "adult" and len(report.flagged) == 1
    assert "all-MiniLM-L6-v2" in report.model.version
