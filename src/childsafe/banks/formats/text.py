"""``text``: one hash per line, the simplest list anyone can produce.

Blank lines and ``#`` comments are skipped. A line may also be ``<type> <hash>``, the form
python-threatexchange's local-file exchange reads (``exchanges/impl/file_api.py``:
``signal_type, _, signal = line.partition(" ")``). Otherwise the type comes from ``--type``
or from the hash's length; 64 hex characters could be pdq or sha256, so those need
``--type`` and the error says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Row
from childsafe.banks.formats.base import BankFormat, text_lines
from childsafe.errors import BankImportError
from childsafe.hashing.formats import HEX_LENGTHS, guess_type
from childsafe.types import HashType

_TYPES = frozenset(t.value for t in HashType)


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
