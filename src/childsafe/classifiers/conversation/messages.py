"""Conversation files: JSON Lines, one chat message per line.

Each line is an object with ``conversation_id``, ``sender``, ``text`` and optionally
``recipient``, ``timestamp`` (ISO 8601 or epoch seconds) and ``message_id``. Chat exports are
messy, so a bad line never stops the file: it becomes a :class:`LineError` naming the line
number and the problem, in file order with the good messages, and the rest is still scored
(DESIGN rules 4 and 5). A hostile file cannot exhaust memory: a line is read at most
``max_line_bytes`` at a time and the remainder of an over-long line is skipped, not buffered,
and message texts over ``max_chars`` are cut (the message says so).

Ids may be strings or integers (exports use both); anything else is a type error rather than a
guess, because a pair key built from a stringified list would silently merge or split pairs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

MAX_LINE_BYTES = 1 << 20
MAX_CHARS = 20_000
_READ = 1 << 16
# Epoch values above this are taken as milliseconds (1e11 s is the year 5138).
_MS_EPOCH = 1e11


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``line`` is its 1-based line in the file (``None`` when streamed)."""

    conversation_id: str
    sender: str
    text: str
    recipient: str | None = None
    timestamp: float | None = None
    message_id: str = ""
    line: int | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not become a message; ``error`` says why, naming the line."""

    line: int
    error: str
    message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message_id": self.message_id, "error": self.error}


def _ident(record: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise ValueError(f"missing {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key!r} must be a string or an integer, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        if required:
            raise ValueError(f"{key!r} is empty")
        return None
    if len(text) > 256:
        raise ValueError(f"{key!r} is {len(text)} characters long (at most 256)")
    return text


def parse_timestamp(value: Any) -> float:
    """Epoch seconds (UTC) from ISO 8601 text or an epoch number; ``ValueError`` otherwise.

    Naive ISO times are taken as UTC: chat exports rarely say, and ordering within one file
    is all the scorer needs.
    """
    if isinstance(value, bool):
        raise ValueError("'timestamp' must be ISO 8601 text or epoch seconds, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"'timestamp' {value!r} is not a valid epoch time")
        return seconds / 1000.0 if seconds > _MS_EPOCH else seconds
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'timestamp' {value[:40]!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(
        f"'timestamp' must be ISO 8601 text or epoch seconds, not {type(value).__name__}"
    )


def parse_record(record: Any, line: int, *, max_chars: int = MAX_CHARS) -> Message | LineError:
    """A :class:`Message` from one decoded JSON value, or a :class:`LineError` saying why not."""
    if not isinstance(record, dict):
        return LineError(line, f"line {line}: expected a JSON object, got {_json_type(record)}")
    message_id = None
    try:
        message_id = _ident(record, "message_id", required=False)
        conversation = _ident(record, "conversation_id", required=True)
        sender = _ident(record, "sender", required=True)
        recipient = _ident(record, "recipient", required=False)
        text = record.get("text")
        if text is None:
            raise ValueError("missing 'text'")
        if not isinstance(text, str):
            raise ValueError(f"'text' must be a string, not {_json_type(text)}")
        if not text.strip():
            raise ValueError("'text' is empty")
        raw_ts = record.get("timestamp")
        timestamp = None if raw_ts is None else parse_timestamp(raw_ts)
    except ValueError as exc:
        return LineError(line, f"line {line}: {exc}", message_id)
    truncated = len(text) > max_chars
    return Message(
        conversation_id=conversation or "",
        sender=sender or "",
        text=text[:max_chars] if truncated else text,
        recipient=recipient,
        timestamp=timestamp,
        message_id=message_id or f"line-{line}",
        line=line,
        truncated=truncated,
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number"


def parse_line(raw: bytes, line: int, *, max_chars: int = MAX_CHARS) -> Message | LineError | None:
    """One raw line (without its length check); ``None`` for a blank line."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(line, f"line {line}: not UTF-8 text (bad byte at offset {exc.start})")
    if line == 1:
        decoded = decoded.removeprefix("\ufeff")
    if not decoded.strip():
        return None
    if "\x00" in decoded:
        return LineError(line, f"line {line}: contains NUL bytes (binary data, not JSON)")
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return LineError(line, f"line {line}: invalid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return LineError(line, f"line {line}: invalid JSON (nested too deeply)")
    return parse_record(record, line, max_chars=max_chars)


def iter_lines(stream: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | int]:
    """The lines of ``stream`` without their newline; an over-long line yields its length.

    Only ``max_line_bytes`` of a line is ever held: the rest is read in chunks and counted.
    """
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        if len(raw) <= max_line_bytes or raw.endswith(b"\n"):
            yield raw.rstrip(b"\r\n")
            continue
        size = len(raw)
        while True:
            rest = stream.readline(_READ)
            size += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        yield size


def read_messages(
    source: str | Path | BinaryIO,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_chars: int = MAX_CHARS,
) -> Iterator[Message | LineError]:
    """Messages and per-line errors of a JSON Lines file, in file order; blank lines skipped.

    Opening a missing or unreadable path raises ``OSError``; everything after that is a
    per-line result.
    """
    if isinstance(source, str | Path):
        with Path(source).open("rb") as stream:
            yield from read_messages(stream, max_line_bytes=max_line_bytes, max_chars=max_chars)
        return
    for number, raw in enumerate(iter_lines(source, max_line_bytes), start=1):
        if isinstance(raw, int):
            yield LineError(
                number,
                f"line {number}: {raw:,} bytes is over the {max_line_bytes:,}-byte line limit;"
                " not scored",
            )
            continue
        result = parse_line(raw, number, max_chars=max_chars)
        if result is not None:
            yield result
