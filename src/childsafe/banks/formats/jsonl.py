"""``jsonl``: one JSON object per line, with the same keys as ``csv`` (and its aliases).

Handy for pipelines that already speak JSON. ``deleted`` is a JSON boolean (or a yes/no
string). Invalid JSON, a non-object line or a non-string hash is an error naming the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Row
from childsafe.banks.formats.base import BankFormat, text_lines
from childsafe.banks.formats.csv import ALIASES, make_row
from childsafe.errors import BankImportError


class JsonlFormat(BankFormat):
    """JSON Lines."""

    name = "jsonl"

    def sniff(self, head: bytes) -> bool:
        return head.lstrip().startswith(b"{")

    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        for n, line in enumerate(text_lines(stream, source), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BankImportError(f"invalid JSON: {exc.msg}", source=source, line=n) from None
            if not isinstance(obj, dict):
                raise BankImportError("want a JSON object per line", source=source, line=n)
            get = {ALIASES[k.lower()]: v for k, v in obj.items() if k.lower() in ALIASES}
            value = get.get("value")
            if not isinstance(value, str) or not value.strip():
                raise BankImportError(
                    "missing hash: want a string under hash, value or signal",
                    source=source,
                    line=n,
                )
            htype = get.get("hash_type") or hash_type
            if htype is not None and not isinstance(htype, str):
                raise BankImportError("hash_type must be a string", source=source, line=n)
            yield make_row(get, value, htype, source=source, line=n)

    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        n = 0
        for e in entries:
            obj: dict[str, Any] = {"hash_type": e.hash_type, "value": e.value}
            for k in ("label", "source", "external_id", "member"):
                if (v := getattr(e, k)) is not None:
                    obj[k] = v
            if e.deleted:
                obj["deleted"] = True
            stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
        return n


FORMAT = JsonlFormat()
parse = FORMAT.parse
write = FORMAT.write
