"""``text``: one hash per line, the simplest list anyone can produce.

Blank lines and ``#`` comments are skipped. A line may also be ``<type> <hash>``, the form
python-threatexchange's local-file exchange reads (``exchanges/impl/file_api.py``:
``signal_type, _, signal = line.partition(" ")``). Otherwise the type comes from ``--type``
or from the hash's length; 64 hex characters could be pdq or sha256, so those need
``--type`` and the error says so.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Columns, RecordBatch, Row
from childsafe.banks.formats.base import BankFormat, read_text, split_lines, text_lines
from childsafe.errors import BankImportError
from childsafe.hashing.formats import HEX_LENGTHS, guess_type
from childsafe.types import HashType

_TYPES = frozenset(t.value for t in HashType)
# str.translate tables deleting what a fast-path file may hold: what is left is unusual.
_PLAIN = dict.fromkeys(map(ord, string.ascii_letters + string.digits + "\n"))
_HEX_LINES = dict.fromkeys(map(ord, string.hexdigits.lower() + "\n"))


class TextFormat(BankFormat):
    """One hash per line."""

    name = "text"

    def sniff(self, head: bytes) -> bool:
        return True  # the fallback: anything else is tried first

    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        for n, raw in enumerate(text_lines(stream, source), 1):
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            htype = hash_type
            if " " in line or "\t" in line:
                first, _, rest = line.partition(" " if " " in line else "\t")
                if first.lower() not in _TYPES:
                    raise BankImportError(
                        f"want one hash, or '<type> <hash>'; unknown type {first!r}",
                        source=source,
                        line=n,
                    )
                htype, line = first.lower(), rest.strip()
            elif htype is None:
                htype = guess_type(line)
                if htype is None:
                    raise BankImportError(_why_untyped(line), source=source, line=n)
            yield (htype, line, None, None, None, None, False, n)

    def fast_batch(
        self, stream: IO[bytes], *, source: str, hash_type: str | None
    ) -> RecordBatch | None:
        """Bare hashes (letters and digits only, one per line): no per-line Python.

        Without spaces, tabs, ``#`` or ``\r`` no line needs stripping or splitting and none
        is a comment, so the lines are the file split on newlines; without ``--type`` they
        must all be lower-case-able hex of one length that names a type (md5 or sha1).
        """
        text = read_text(stream, ascii_only=True)
        if text is None or text.translate(_PLAIN):
            return None
        lines = split_lines(text)
        htype = hash_type
        if htype is None:
            lengths = set(map(len, lines)) - {0}
            if len(lengths) != 1 or text.lower().translate(_HEX_LINES):
                return None
            htype = {32: "md5", 40: "sha1"}.get(lengths.pop())
            if htype is None:
                return None
        if "" in lines:  # blank lines keep their place in the numbering
            numbered = [(n, v) for n, v in enumerate(lines, 1) if v]
            numbers: Sequence[int] = [n for n, _ in numbered]
            lines = [v for _, v in numbered]
        else:
            numbers = range(1, len(lines) + 1)
        return RecordBatch.from_columns(Columns(htype, lines, numbers))

    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        """``<type> <hash>`` lines, so mixed banks round-trip; tombstones are left out."""
        n = 0
        for e in entries:
            if not e.deleted:
                stream.write(f"{e.hash_type} {e.value}\n")
                n += 1
        return n


def _why_untyped(value: str) -> str:
    v = value.lower()
    if len(v) == 64 and all(c in "0123456789abcdef" for c in v):
        return "64 hex characters could be pdq or sha256: pass --type pdq or --type sha256"
    lengths = ", ".join(f"{t} {n}" for t, n in HEX_LENGTHS.items())
    shown = value if len(value) <= 80 else value[:77] + "..."
    return f"not a hash of a known length ({lengths} hex characters): {shown!r}"


FORMAT = TextFormat()
parse = FORMAT.parse
write = FORMAT.write
