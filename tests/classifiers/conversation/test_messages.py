"""Conversation JSON Lines: good lines become messages, bad ones per-line errors, in order."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from childsafe.classifiers.conversation.messages import (
    LineError,
    Message,
    parse_timestamp,
    read_messages,
)


def good(**extra: Any) -> dict[str, Any]:
    return {"conversation_id": "c1", "sender": "a", "recipient": "b", "text": "hi", **extra}


def read(data: bytes, **kw: Any) -> list[Message | LineError]:
    return list(read_messages(io.BytesIO(data), **kw))


def lines(*rows: Any) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in rows) + b"\n"


def test_fields_are_read() -> None:
    row = good(timestamp="2025-01-02T03:04:05Z", message_id="x9")
    [m] = read(lines(row))
    assert m == Message(
        "c1", "a", "hi", "b", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp(), "x9", 1
    )


def test_optional_fields_default() -> None:
    [m] = read(lines({"conversation_id": 7, "sender": 42, "text": "yo"}))
    assert isinstance(m, Message)
    assert (m.conversation_id, m.sender, m.recipient, m.timestamp) == ("7", "42", None, None)
    assert m.message_id == "line-1"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"conversation_id": "c1", "sender": "a", "text": "hi"', "invalid JSON"),
        (b"[1, 2, 3]", "expected a JSON object, got an array"),
        (b"42", "expected a JSON object, got a number"),
        (b'"text"', "expected a JSON object, got a string"),
        (json.dumps({"conversation_id": "c1", "sender": "a"}).encode(), "missing 'text'"),
        (json.dumps(good(text=None)).encode(), "missing 'text'"),
        (json.dumps(good(text=123)).encode(), "'text' must be a string, not a number"),
        (json.dumps(good(text=["hi"])).encode(), "'text' must be a string, not an array"),
        (json.dumps(good(text="   ")).encode(), "'text' is empty"),
        (json.dumps({"sender": "a", "text": "hi"}).encode(), "missing 'conversation_id'"),
        (json.dumps(good(sender="")).encode(), "'sender' is empty"),
        (json.dumps(good(sender={"id": 1})).encode(), "'sender' must be a string or an integer"),
        (json.dumps(good(sender=True)).encode(), "'sender' must be a string or an integer"),
        (json.dumps(good(recipient=1.5)).encode(), "'recipient' must be a string or an integer"),
        (json.dumps(good(conversation_id="x" * 300)).encode(), "300 characters long"),
        (json.dumps(good(timestamp="yesterday")).encode(), "not ISO 8601"),
        (json.dumps(good(timestamp=True)).encode(), "not a boolean"),
        (json.dumps(good(timestamp=-5)).encode(), "not a valid epoch time"),
        (json.dumps(good(timestamp=[1])).encode(), "not list"),
        (b"\xff\xfe\x00garbage\x80", "not UTF-8 text"),
        (b'{"a": "\x00"}', "NUL bytes"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_bad_line_is_a_per_line_error_naming_the_line(row: bytes, problem: str) -> None:
    results = read(lines(good(message_id="before"), row, good(message_id="after")))
    assert [type(r).__name__ for r in results] == ["Message", "LineError", "Message"]
    error = results[1]
    assert isinstance(error, LineError)
    assert error.line == 2
    assert error.error.startswith("line 2: ")
    assert problem in error.error


def test_error_keeps_the_message_id_when_there_is_one() -> None:
    [error] = read(lines(good(text=5, message_id="m7")))
    assert isinstance(error, LineError) and error.message_id == "m7"
    assert error.to_dict() == {"line": 1, "message_id": "m7", "error": error.error}


def test_empty_input_yields_nothing() -> None:
    assert read(b"") == []
    assert read(b"\n\n  \n") == []


def test_blank_lines_are_skipped_but_numbering_follows_the_file() -> None:
    results = read(lines(good(), b"", b"   ", good(text=1)))
    assert [r.line for r in results] == [1, 4]


def test_binary_garbage_file_gives_errors_not_exceptions() -> None:
    blob = bytes(range(256)) * 64
    results = read(blob)
    assert results and all(isinstance(r, LineError) for r in results)


def test_huge_line_is_skipped_without_being_held_and_the_rest_is_read() -> None:
    huge = json.dumps(good(text="x" * 5000)).encode()
    results = read(lines(good(), huge, good(message_id="last")), max_line_bytes=1000)
    assert [type(r).__name__ for r in results] == ["Message", "LineError", "Message"]
    error = results[1]
    assert isinstance(error, LineError)
    assert "over the 1,000-byte line limit" in error.error and error.line == 2
    assert isinstance(results[2], Message) and results[2].line == 3


def test_huge_last_line_without_newline() -> None:
    results = read(lines(good()) + b"y" * 5000, max_line_bytes=1000)
    assert isinstance(results[-1], LineError) and results[-1].line == 2


def test_line_exactly_at_the_limit_is_read() -> None:
    row = json.dumps(good(text="z")).encode()
    [m] = read(row + b"\n", max_line_bytes=len(row))
    assert isinstance(m, Message)


def test_long_text_is_truncated_and_says_so() -> None:
    [m] = read(lines(good(text="é" * 50)), max_chars=10)
    assert isinstance(m, Message)
    assert m.text == "é" * 10 and m.truncated


def test_unicode_text_and_ids_round_trip() -> None:
    text = "wie alt bist du? 你好 🎮 ｆｕｌｌ"
    row = good(text=text, sender="Ünïcødé", conversation_id="разговор")
    [m] = read(json.dumps(row, ensure_ascii=False).encode() + b"\r\n")
    assert isinstance(m, Message)
    assert (m.text, m.sender, m.conversation_id) == (text, "Ünïcødé", "разговор")


def test_utf8_bom_on_the_first_line_is_ignored() -> None:
    [m] = read(b"\xef\xbb\xbf" + lines(good()))
    assert isinstance(m, Message)


def test_reads_from_a_path(tmp_path: Path) -> None:
    p = tmp_path / "chat.jsonl"
    p.write_bytes(lines(good(), good(text=[])))
    assert [type(r).__name__ for r in read_messages(p)] == ["Message", "LineError"]


def test_missing_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        list(read_messages(tmp_path / "nope.jsonl"))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000_000, 1_700_000_000.0),  # milliseconds
        ("2025-01-01T00:00:00+00:00", 1_735_689_600.0),
        ("2025-01-01T01:00:00+01:00", 1_735_689_600.0),
        ("2025-01-01 00:00:00", 1_735_689_600.0),  # naive → UTC
    ],
)
def test_timestamps(value: Any, seconds: float) -> None:
    assert parse_timestamp(value) == seconds


def test_non_finite_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid epoch"):
        parse_timestamp(float("inf"))
