"""``BankFormat``: one small class per hash-list file format.

A format reads a *binary* stream (so it can name the line of a non-UTF-8 byte) and yields
records as plain tuples (:data:`childsafe.banks.batch.Row`), which is what makes a million
lines cheap; :meth:`BankFormat.parse` wraps them as ``ImportRecord`` for everyone else.
Parsers check structure (quoting, JSON, columns); hash strings are validated once, for every
format, by the importer. Things a format knows but childsafe cannot store (PhotoDNA, URL
signals) are skipped and counted in ``stats``, never guessed into another type.

A format may also have a *fast path*, :meth:`BankFormat.fast_batch`: whole-file string
operations for the plain shape a million-line list almost always has. ``rows`` stays the
reference: the fast path must return exactly the records ``rows`` would, or ``None`` to
hand the file to it (anything unusual, every error included), and the tests hold it to
that.
"""

from __future__ import annotations

import codecs
import io
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any, ClassVar

from childsafe.banks.base import BankEntry, ImportRecord
from childsafe.banks.batch import RecordBatch, Row
from childsafe.errors import BankImportError

TRUE = frozenset({"1", "true", "yes", "y", "t"})
FALSE = frozenset({"", "0", "false", "no", "n", "f"})


class BankFormat(ABC):
    """A hash-list file format: a stable ``name``, a sniffer, a reader and a writer."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()  # skipped things, by reason

    @abstractmethod
    def sniff(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` (BOM already removed) looks like this format."""

    @abstractmethod
    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        """The records of ``stream`` as tuples, each carrying its line number."""

    def fast_batch(
        self, stream: IO[bytes], *, source: str, hash_type: str | None
    ) -> RecordBatch | None:
        """``self.rows(...)`` as a batch by a faster route, or None; may read ``stream`` to
        its end.

        The default has no fast path and reads nothing.
        """
        return None

    @abstractmethod
    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        """Write entries in this format; returns how many were written."""

    def parse(
        self, stream: IO[Any], *, source: str, hash_type: str | None = None
    ) -> Iterator[ImportRecord]:
        """The records of ``stream``; raises ``BankImportError`` naming the bad line."""
        for row in self.rows(stream, source=source, hash_type=hash_type):
            yield ImportRecord(*row)


def read_text(stream: IO[bytes], *, ascii_only: bool = False) -> str | None:
    """The whole stream decoded (BOM dropped), or None when not UTF-8 (or not ASCII).

    For fast paths: the line-by-line reader owns the error message naming the bad line.
    """
    data = stream.read()
    if not isinstance(data, bytes):
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    if ascii_only and not data.isascii():
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    """Lines as iterating the binary file yields them, without their newline."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def text_lines(stream: IO[Any], source: str, *, keepends: bool = False) -> Iterator[str]:
    """Decoded lines of a binary (or text) stream: BOM dropped, CRLF/CR read as newline.

    Bytes that are not UTF-8 raise ``BankImportError`` with the line number.
    """
    if isinstance(stream, io.TextIOBase):
        raw: Iterable[Any] = stream
    else:
        raw = stream
    for n, line in enumerate(raw, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BankImportError(
                    f"not UTF-8 text (byte {line[exc.start]:#04x} at column {exc.start + 1})",
                    source=source,
                    line=n,
                ) from None
        if n == 1 and line.startswith(codecs.BOM_UTF8.decode()):
            line = line[1:]
        if keepends:
            yield line.replace("\r\n", "\n").replace("\r", "\n")
        else:
            yield line.rstrip("\r\n")


def parse_bool(value: str, *, source: str, line: int | None, column: str) -> bool:
    """A yes/no cell (``deleted``): 1/0, true/false, yes/no, empty is false."""
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise BankImportError(f"{column}: want true/false, got {value!r}", source=source, line=line)


def opt(value: object) -> str | None:
    """An optional text cell: empty and missing become None."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None
