"""``score_conversation_file``: per-pair risks, per-line errors, nothing dropped, no text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from childsafe.classifiers.conversation.scorer import ConversationScorer, score_conversation_file
from childsafe.classifiers.conversation.sentinel import SentinelIndex


@pytest.fixture
def scorer(fake_embedder: Any, fake_index: SentinelIndex) -> ConversationScorer:
    return ConversationScorer(embedder=fake_embedder, index=fake_index)


def write(path: Path, *rows: Any) -> Path:
    path.write_bytes(
        b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in rows) + b"\n"
    )
    return path


def row(sender: str, recipient: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "conversation_id": "c1",
        "sender": sender,
        "recipient": recipient,
        "text": text,
        **extra,
    }


GROOMING = [
    row("adult", "kid", "hey quokkaword how old are you", message_id="g1"),
    row("kid", "adult", "im 12", message_id="k1"),
    row("adult", "kid", "are your parents home", message_id="g2"),
    row("kid", "adult", "no", message_id="k2"),
    row("adult", "kid", "dont tell your parents about us", message_id="g3"),
    row("adult", "kid", "add me on another app", message_id="g4"),
]


def test_mixed_file(tmp_path: Path, scorer: ConversationScorer) -> None:
    path = write(
        tmp_path / "chat.jsonl",
        *GROOMING[:3],
        b"{broken",
        row("adult", "kid", 42),
        b"\xff\xfe",
        *GROOMING[3:],
    )
    report = score_conversation_file(path, scorer=scorer)
    assert report.error is None
    assert report.n_messages == len(GROOMING)
    assert [e.line for e in report.errors] == [4, 5, 6]
    assert "invalid JSON" in report.errors[0].error
    assert "'text' must be a string" in report.errors[1].error
    assert "not UTF-8" in report.errors[2].error
    top = report.ranked(1)[0]
    assert (top.sender, top.recipient) == ("adult", "kid") and top.flagged
    assert {d.message_id for d in top.drivers} >= {"g1", "g2", "g3", "g4"}
    assert [p.sender for p in report.flagged] == ["adult"]
    data = report.to_dict()
    json.dumps(data)
    assert data["flagged_pairs"] == 1 and data["n_pairs"] == 2
    assert [e["line"] for e in data["errors"]] == [4, 5, 6]
    assert data["ranked"][0]["drivers"][0]["evidence"][0]["start"] >= 0


def test_report_carries_no_message_text_by_default(
    tmp_path: Path, scorer: ConversationScorer
) -> None:
    report = score_conversation_file(write(tmp_path / "c.jsonl", *GROOMING), scorer=scorer)
    blob = json.dumps(report.to_dict())
    assert "quokkaword" not in blob and "how old" not in blob and "about us" not in blob


def test_include_text_adds_only_short_excerpts(
    tmp_path: Path, fake_embedder: Any, fake_index: SentinelIndex
) -> None:
    loud = ConversationScorer(embedder=fake_embedder, index=fake_index, include_text=True)
    report = score_conversation_file(write(tmp_path / "c.jsonl", *GROOMING), scorer=loud)
    first = report.ranked(1)[0].drivers[0]
    assert first.message_id == "g1" and first.excerpt == "how old are you"


def test_empty_file(tmp_path: Path, scorer: ConversationScorer) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    report = score_conversation_file(path, scorer=scorer)
    assert report.error == f"{path}: no messages (empty file)"
    assert report.pairs == [] and report.n_messages == 0
    data = report.to_dict()
    assert data["errors"] == [{"line": None, "message_id": None, "error": report.error}]


def test_file_of_only_bad_lines(tmp_path: Path, scorer: ConversationScorer) -> None:
    report = score_conversation_file(write(tmp_path / "bad.jsonl", b"[]", b"nope"), scorer=scorer)
    assert report.error is not None and "no line could be scored (2 errors)" in report.error
    assert len(report.errors) == 2


def test_binary_file(tmp_path: Path, scorer: ConversationScorer) -> None:
    path = tmp_path / "blob.jsonl"
    path.write_bytes(bytes(range(256)) * 32)
    report = score_conversation_file(path, scorer=scorer)
    assert report.errors and report.n_messages == 0 and report.error


@pytest.mark.parametrize("name", ["missing.jsonl", "."])
def test_unreadable_path(tmp_path: Path, scorer: ConversationScorer, name: str) -> None:
    path = tmp_path / name
    report = score_conversation_file(path, scorer=scorer)
    assert report.error is not None and report.error.startswith(f"{path}: cannot read")


def test_huge_line_and_long_text(tmp_path: Path, scorer: ConversationScorer) -> None:
    path = write(
        tmp_path / "big.jsonl",
        row("a", "b", "x" * 5000, message_id="huge"),
        row("a", "b", "how old are you " + "y" * 300, message_id="long"),
    )
    report = score_conversation_file(path, scorer=scorer, max_line_bytes=2000, max_chars=100)
    assert [e.line for e in report.errors] == [1]
    assert report.truncated == ["long"] and report.n_messages == 1
    assert report.pairs[0].stats.stages == ("age_probe",)


def test_unicode_messages(tmp_path: Path, scorer: ConversationScorer) -> None:
    path = tmp_path / "u.jsonl"
    rows = [row("ａ", "б", "ok so аre y\u200bou hоme аlone? 🎮"), row("б", "ａ", "你好")]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    report = score_conversation_file(path, scorer=scorer)
    assert report.error is None and not report.errors
    top = report.ranked(1)[0]
    assert top.sender == "ａ" and top.stats.stages == ("isolation",)
    [ev] = [e for e in top.drivers[0].evidence if e.label == "isolation"]
    assert rows[0]["text"][ev.start : ev.end] == "аre y\u200bou hоme аlone"
