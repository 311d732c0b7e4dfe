"""Hash-list file formats and ``--format auto`` detection.

Each format is one module with a :class:`~childsafe.banks.formats.base.BankFormat` class
and module-level ``parse``/``write``. ``FORMATS`` is the registry, in sniffing order: the
specific shapes first, ``text`` (anything) last.
"""

from __future__ import annotations

from pathlib import Path

from childsafe.banks.formats.base import BankFormat
from childsafe.banks.formats.csv import CsvFormat
from childsafe.banks.formats.jsonl import JsonlFormat
from childsafe.banks.formats.ncmec import NcmecFormat
from childsafe.banks.formats.pytx import PytxFormat
from childsafe.banks.formats.text import TextFormat
from childsafe.errors import BankImportError

FORMATS: dict[str, type[BankFormat]] = {
    f.name: f for f in (NcmecFormat, JsonlFormat, PytxFormat, CsvFormat, TextFormat)
}
_BOM = b"\xef\xbb\xbf"

__all__ = ["FORMATS", "BankFormat", "detect_format", "get_format"]


def get_format(name: str) -> BankFormat:
    """A fresh instance of the named format (fresh, so its ``stats`` are this import's)."""
    try:
        return FORMATS[name]()
    except KeyError:
        known = ", ".join(FORMATS)
        raise BankImportError(f"unknown format {name!r} (known: {known}, auto)") from None


def detect_format(path: Path | str, head: bytes) -> str:
    """The format name for a file starting with ``head``; the extension breaks ties."""
    head = head.removeprefix(_BOM)
    suffix = Path(path).suffix.lower()
    if suffix == ".xml":
        return "ncmec"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    for name, cls in FORMATS.items():
        if cls().sniff(head):
            return name
    return "text"  # pragma: no cover - text sniffs everything
