"""Stage signals, table-driven: what each rule catches, what it must leave alone, and spans."""

from __future__ import annotations

import pytest

from childsafe.classifiers.conversation.stages import (
    PHASE,
    STAGE_NAMES,
    detect_stages,
    stage_names,
)

# (message, stage, the words the span must cover in the ORIGINAL text)
CATCHES = [
    ("how old are you?", "age_probe", "how old are you"),
    ("hey how old r u", "age_probe", "how old r u"),
    ("H0W 0LD R U??", "age_probe", "H0W 0LD R U"),
    ("what grade are you in", "age_probe", "what grade are you"),
    ("are you in middle school", "age_probe", "are you in middle school"),
    ("asl", "age_probe", "asl"),
    ("where do you live", "personal_info", "where do you live"),
    ("what's your address", "personal_info", "what's your address"),
    ("what school do u go to", "personal_info", "what school do u go to"),
    ("send me your number", "personal_info", "send me your number"),
    ("are your parents home?", "isolation", "are your parents home"),
    ("r ur parents home", "isolation", "r ur parents home"),
    ("is anyone else there with you", "isolation", "is anyone else there"),
    ("are you home alone", "isolation", "are you home alone"),
    ("do your parents check your phone", "isolation", "do your parents check your phone"),
    ("your parents don't understand you", "isolation", "your parents don't understand you"),
    ("don't tell your parents about our chats", "secrecy", "don't tell your parents"),
    ("dont tell anyone", "secrecy", "dont tell anyone"),
    ("this is our little secret", "secrecy", "our little secret"),
    ("keep this between us", "secrecy", "keep this between us"),
    ("delete our messages", "secrecy", "delete our messages"),
    ("add me on snap", "platform_move", "add me on snap"),
    ("add me on s n a p", "platform_move", "add me on s n a p"),
    ("do you have discord", "platform_move", "do you have discord"),
    ("lets talk on whatsapp", "platform_move", "lets talk on whatsapp"),
    ("whats ur snap", "platform_move", "whats ur snap"),
    ("i can send you game currency", "gifts", "i can send you game currency"),
    ("i'll give you 500 robux", "gifts", "i'll give you 500 robux"),
    ("want free vbucks", "gifts", "want free vbucks"),
    ("get free robux here", "gifts", "free robux"),
    ("do you have a picture you can share", "photo_request", "do you have a picture"),
    ("send me a selfie", "photo_request", "send me a selfie"),
    ("turn on your camera", "photo_request", "turn on your camera"),
    ("what do you look like", "photo_request", "what do you look like"),
    ("we should meet up", "meeting_request", "we should meet"),
    ("when can we meet", "meeting_request", "when can we meet"),
    ("come over to my place", "meeting_request", "come over to my place"),
    ("i can pick you up after school", "meeting_request", "i can pick you up"),
    ("you're so mature for your age", "flattery", "you're so mature"),
    ("ur not like other kids", "flattery", "not like other kids"),
    ("you can trust me", "flattery", "you can trust me"),
]

# Ordinary chat that shares words with the patterns but is not one.
LEAVES_ALONE = [
    "gg that was close",
    "are you home yet",
    "you're pretty good at this game",
    "meet at the park at 4",
    "my brother is 12",
    "i found a secret level",
    "my parents are so strict lol",
    "i'm home alone tonight so i'm ordering pizza",
    "the snap on my jacket broke",
    "what page is the reading on",
    "did you see the picture the teacher posted",
    "how old is your dog",
    "she is so mature",
    "",
]


@pytest.mark.parametrize(("text", "stage", "words"), CATCHES)
def test_rule_catches_and_points_at_the_words(text: str, stage: str, words: str) -> None:
    signals = [s for s in detect_stages(text) if s.stage == stage]
    assert signals, f"{stage} not detected in {text!r}"
    assert text[signals[0].start : signals[0].end] == words


@pytest.mark.parametrize("text", LEAVES_ALONE)
def test_ordinary_chat_is_left_alone(text: str) -> None:
    assert detect_stages(text) == []


def test_every_stage_has_a_case_and_a_phase() -> None:
    assert {stage for _, stage, _ in CATCHES} == set(STAGE_NAMES)
    assert set(PHASE) == set(STAGE_NAMES)
    assert set(PHASE.values()) == {0, 1, 2, 3}


def test_several_stages_in_one_message_in_text_order() -> None:
    text = "how old are you? dont tell your mom we talk, add me on discord"
    signals = detect_stages(text)
    assert stage_names(signals) == ("age_probe", "secrecy", "platform_move")
    assert [s.start for s in signals] == sorted(s.start for s in signals)


def test_one_signal_per_stage_per_message() -> None:
    signals = detect_stages("how old are you? how old r u?")
    assert [s.stage for s in signals] == ["age_probe"]
    assert signals[0].start == 0


def test_spans_map_through_homoglyphs_and_invisible_characters() -> None:
    text = "ok so аre y\u200bou hоme аlone?"  # Cyrillic а/о and a zero-width space
    [signal] = detect_stages(text)
    assert signal.stage == "isolation"
    assert text[signal.start : signal.end] == "аre y\u200bou hоme аlone"


def test_fullwidth_and_leet_are_folded() -> None:
    assert stage_names(detect_stages("ａｄｄ ｍｅ ｏｎ ｓｎａｐ")) == ("platform_move",)
    assert stage_names(detect_stages("d0nt t3ll ur p4rents")) == ("secrecy",)


def test_huge_message_is_linear_enough() -> None:
    text = "lol " * 50_000 + "are your parents home"
    [signal] = detect_stages(text)
    assert text[signal.start : signal.end] == "are your parents home"
