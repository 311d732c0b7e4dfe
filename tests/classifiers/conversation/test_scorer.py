"""The streaming scorer's bookkeeping, with the deterministic fake embedder."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from childsafe.classifiers.base import Priority
from childsafe.classifiers.conversation.messages import Message
from childsafe.classifiers.conversation.risk import Weights
from childsafe.classifiers.conversation.scorer import ConversationScorer, score_messages
from childsafe.classifiers.conversation.sentinel import SentinelIndex

Chat = Callable[..., list[Message]]

GROOMING = [
    ("adult", "kid", "hey good game"),
    ("kid", "adult", "thanks"),
    ("adult", "kid", "you're so mature for your age"),
    ("kid", "adult", "lol ok"),
    ("adult", "kid", "how old are you"),
    ("kid", "adult", "im 12"),
    ("adult", "kid", "are your parents home"),
    ("kid", "adult", "no"),
    ("adult", "kid", "dont tell your parents about us"),
    ("kid", "adult", "ok"),
    ("adult", "kid", "add me on another app"),
    ("kid", "adult", "ok"),
]


def scorer(embedder: object, index: SentinelIndex, **kw: object) -> ConversationScorer:
    return ConversationScorer(embedder=embedder, index=index, **kw)  # type: ignore[arg-type]


def same(a: Any, b: Any, path: str = "") -> None:
    """Assert two results are equal, floats to 1e-9 (BLAS sums a batch and a single row in
    different orders, so the last bits may differ)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-9), path
    else:
        assert a == b, path


def test_streaming_equals_batch(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    messages = chat(*GROOMING) + chat(*GROOMING[:5], conversation="c2")
    one = scorer(fake_embedder, fake_index)
    streamed = [one.update(m) for m in messages]
    other = scorer(fake_embedder, fake_index)
    batched = other.update_many(messages)
    same(streamed, batched)
    same(one.ranked(), other.ranked())
    third = scorer(fake_embedder, fake_index)
    same(score_messages(messages, third, batch=4), batched)


def test_pairs_are_scored_apart(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(*GROOMING))
    ranked = s.ranked()
    assert [(r.sender, r.recipient) for r in ranked] == [("adult", "kid"), ("kid", "adult")]
    adult, kid = ranked
    assert adult.flagged and adult.priority >= Priority.MEDIUM
    assert adult.stats.stages == ("flattery", "age_probe", "isolation", "secrecy", "platform_move")
    assert kid.stats.stages == () and not kid.flagged
    assert adult.n_messages == kid.n_messages == 6


def test_drivers_are_the_messages_that_carried_each_stage(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(*GROOMING))
    adult = s.ranked()[0]
    by_stage = {st: d.message_id for d in adult.drivers for st in d.stages}
    assert by_stage == {
        "flattery": "m2",
        "age_probe": "m4",
        "isolation": "m6",
        "secrecy": "m8",
        "platform_move": "m10",
    }
    assert [d.index for d in adult.drivers] == sorted(d.index for d in adult.drivers)
    first = next(d for d in adult.drivers if d.message_id == "m4")
    [ev] = [e for e in first.evidence if e.label == "age_probe"]
    assert GROOMING[4][2][ev.start : ev.end] == "how old are you"


def test_same_people_in_two_conversations_are_two_pairs(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(*GROOMING[:3]) + chat(*GROOMING[:3], conversation="c2"))
    assert {(r.conversation_id, r.sender) for r in s.pairs()} == {
        ("c1", "adult"),
        ("c1", "kid"),
        ("c2", "adult"),
        ("c2", "kid"),
    }


def test_group_messages_without_recipient_form_their_own_pair(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(("a", None, "hi all"), ("a", "b", "hey b"), ("a", None, "ok")))
    assert sorted((r.recipient or "", r.n_messages) for r in s.pairs()) == [("", 2), ("b", 1)]


def test_window_is_bounded_but_the_peak_is_kept(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index, window=10)
    turns = [("a", "b", "how old are you"), ("a", "b", "dont tell anyone")]
    turns += [("a", "b", f"the new map is huge {i}") for i in range(30)]
    updates = s.update_many(chat(*turns))
    last = updates[-1].pair
    assert last.stats.stages == ()  # both stage messages have left the 10-message window
    assert all(d.index >= 22 for d in last.drivers)
    [peak] = s.ranked()
    assert peak.stats.stages == ("age_probe", "secrecy")
    assert peak.risk > last.risk
    assert 2 <= peak.peak_at <= 10 and peak.n_messages == last.n_messages == 32
    assert len(s._pairs[("c1", "a", "b")].window) == 10


def test_window_must_hold_enough_for_skewness() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        ConversationScorer(window=5)
    with pytest.raises(ValueError, match="at least 10 scores"):
        ConversationScorer(window=20, min_skew=3)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"nope": 0.5}, "unknown label"),
        ({"review": 1.5}, "must be in"),
        ({"review": 0.9, "high": 0.7}, "low <= review <= high"),
    ],
)
def test_bad_thresholds_are_refused(thresholds: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConversationScorer(thresholds=thresholds)


def test_review_threshold_sets_flag_and_priority(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    strict = scorer(fake_embedder, fake_index, thresholds={"low": 0.99, "review": 1.0, "high": 1.0})
    lenient = scorer(fake_embedder, fake_index, thresholds={"low": 0.0, "review": 0.0})
    for s in (strict, lenient):
        s.update_many(chat(*GROOMING))
    assert not any(r.flagged for r in strict.ranked())
    assert all(r.priority is Priority.NONE for r in strict.ranked())
    assert all(r.flagged for r in lenient.ranked())


def test_rules_only_never_embeds(fake_embedder: object, chat: Chat) -> None:
    s = ConversationScorer(embedder=fake_embedder, weights=Weights(stages=1.0, sentinel=0.0))  # type: ignore[arg-type]
    s.update_many(chat(*GROOMING))
    assert fake_embedder.calls == 0  # type: ignore[attr-defined]
    assert s.model.version.startswith("stages ")
    assert s.ranked()[0].stats.sentinel_max == 0.0


def test_failed_embedding_is_a_per_message_note(
    fake_embedder_class: type, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder_class(fail_on="parents"), fake_index)
    updates = [s.update(m) for m in chat(*GROOMING)]
    failed = [u.message for u in updates if u.message.error]
    assert [m.message_id for m in failed] == ["m6", "m8"]
    assert "sentinel not scored" in (failed[0].error or "")
    assert failed[0].stages == ("isolation",)  # rules still ran
    assert len(updates) == len(GROOMING)


def test_text_stays_out_of_results_unless_asked(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    turns = [("a", "b", "zebraword how old are you zebraword")]
    quiet = scorer(fake_embedder, fake_index)
    quiet.update_many(chat(*turns))
    assert "zebraword" not in json.dumps([r.to_dict() for r in quiet.ranked()])
    assert "how old" not in json.dumps([r.to_dict() for r in quiet.ranked()])
    loud = scorer(fake_embedder, fake_index, include_text=True)
    loud.update_many(chat(*turns))
    [driver] = loud.ranked()[0].drivers
    assert driver.excerpt == "how old are you"


def test_forget_drops_a_conversation(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(*GROOMING) + chat(*GROOMING[:2], conversation="c2"))
    gone = s.forget("c1")
    assert {r.conversation_id for r in gone} == {"c1"} and len(gone) == 2
    assert {r.conversation_id for r in s.pairs()} == {"c2"}


def test_ranked_limit_and_order(
    fake_embedder: object, fake_index: SentinelIndex, chat: Chat
) -> None:
    s = scorer(fake_embedder, fake_index)
    s.update_many(chat(*GROOMING) + chat(("x", "y", "lol same"), conversation="c0"))
    ranked = s.ranked()
    assert [r.risk for r in ranked] == sorted((r.risk for r in ranked), reverse=True)
    assert s.ranked(1) == ranked[:1] and s.ranked(0) == []


def test_model_names_the_embedder(fake_embedder: object, fake_index: SentinelIndex) -> None:
    info = scorer(fake_embedder, fake_index).model
    assert info.name == "conversation_risk" and "fake-bag-of-words" in info.version
    assert info.licence
