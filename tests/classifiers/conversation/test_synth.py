"""The synthetic conversation generator: deterministic, well-formed, truthfully labelled."""

from __future__ import annotations

import re
from pathlib import Path

from childsafe.classifiers.conversation.messages import Message, parse_record, read_messages
from childsafe.classifiers.conversation.stages import PHASE
from childsafe.classifiers.conversation.synth import (
    BENIGN_KINDS,
    GROUP_LINES,
    KID_ANSWERS,
    KID_LINES,
    SMALL_TALK,
    STAGE_LINES,
    corpus,
    write_jsonl,
)

SEXUAL_TERMS = re.compile(r"\b(nsfw|sexy|sexual|sex|nude|nudes|naked|lingerie|erotic|intimate)\b")


def test_deterministic_per_seed() -> None:
    assert corpus(20, 5, seed=3) == corpus(20, 5, seed=3)
    assert corpus(20, 5, seed=3) != corpus(20, 5, seed=4)


def test_every_record_is_a_valid_message() -> None:
    for conv in corpus(40, 10, seed=1):
        for line, record in enumerate(conv.records, start=1):
            assert isinstance(parse_record(record, line), Message)


def test_grooming_conversations() -> None:
    convs = [c for c in corpus(0, 40, seed=2)]
    assert len(convs) == 40
    for conv in convs:
        assert 20 <= len(conv.records) <= 80
        assert conv.groomer is not None and 2 <= len(conv.stages) <= 7
        phases = [PHASE[s] for s in conv.stages]
        assert phases == sorted(phases)
        by_id = {r["message_id"]: r for r in conv.records}
        assert len(conv.positive_ids) == len(conv.stages)
        for mid in conv.positive_ids:
            assert by_id[mid]["sender"] == conv.groomer
        # Pattern lines are a minority of the groomer's lines.
        groomer_lines = sum(r["sender"] == conv.groomer for r in conv.records)
        assert len(conv.positive_ids) < groomer_lines


def test_benign_conversations_cover_every_kind_and_have_no_truth() -> None:
    convs = corpus(200, 0, seed=5)
    assert {c.kind for c in convs} == {*BENIGN_KINDS, "group"}
    for conv in convs:
        assert conv.groomer is None and not conv.positive_ids
        if conv.kind == "group":
            assert all("recipient" not in r for r in conv.records)


def test_no_sexual_terms_anywhere() -> None:
    lines = [t for ls in STAGE_LINES.values() for t in ls] + SMALL_TALK + KID_LINES + GROUP_LINES
    lines += [t for ls in KID_ANSWERS.values() for t in ls]
    lines += [t for a, b in BENIGN_KINDS.values() for t in (*a, *b)]
    for line in lines:
        assert not SEXUAL_TERMS.search(line.lower()), line


def test_jsonl_round_trip(tmp_path: Path) -> None:
    convs = corpus(5, 2, seed=9)
    path = tmp_path / "synth.jsonl"
    n = write_jsonl(convs, path)
    parsed = list(read_messages(path))
    assert len(parsed) == n == sum(len(c.records) for c in convs)
    assert all(isinstance(m, Message) for m in parsed)
