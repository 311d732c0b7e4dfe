"""``pytx``: the CSV that python-threatexchange writes for a fetched dataset.

What it writes (``threatexchange/cli/dataset_cmd.py``, ``DatasetCommand._print_csv``, used by
``threatexchange dataset -P --csv``): a header ``signal_type,signal_str,collab,category,tags``
then one row per (signal, collaboration). ``signal_type`` is ``SignalType.get_name()``
(``pdq``, ``video_md5``, ``vpdq``, but also ``raw_text``, ``url``, ``trend_query``);
``category`` is a ``SignalOpinionCategory`` name (``threatexchange/exchanges/fetch_state.py``:
``NEGATIVE_CLASS`` = false positive or test data, ``INVESTIGATION_SEED``, ``POSITIVE_CLASS``);
``tags`` is space-separated.

HMA (OpenMediaMatch) has no CSV bank export: its curation API (``blueprints/curation.py``,
``POST /bank/<name>/signal``) takes a JSON object ``{signal_type_name: signal_str}``, with
the same type names, so this format and ``jsonl`` cover what it produces and consumes.

Mapping: ``collab`` is the entry's source, ``tags`` its label. ``NEGATIVE_CLASS`` rows are
known non-matches, which belong on an allow-list, not in a bank: they are skipped and counted
(``stats``), as are signal types childsafe cannot store. The writer emits ``POSITIVE_CLASS``
rows, so an exported bank reads back the same.
"""

from __future__ import annotations

import csv as _csv
from collections.abc import Iterable, Iterator
from typing import IO, Any

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Row
from childsafe.banks.formats.base import BankFormat, opt, text_lines
from childsafe.errors import BankImportError
from childsafe.types import HashType

HEADER = ("signal_type", "signal_str", "collab", "category", "tags")
CATEGORIES = frozenset({"NEGATIVE_CLASS", "INVESTIGATION_SEED", "POSITIVE_CLASS"})
_TYPES = frozenset(t.value for t in HashType)


class PytxFormat(BankFormat):
    """python-threatexchange ``dataset --csv`` output."""

    name = "pytx"

    def sniff(self, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].strip().lower()
        return first.startswith(b"signal_type,signal_str")

    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        reader = _csv.reader(text_lines(stream, source, keepends=True), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            if tuple(h.strip().lower() for h in header[:2]) != HEADER[:2]:
                raise BankImportError(
                    f"not a python-threatexchange CSV: want header {','.join(HEADER)}",
                    source=source,
                    line=1,
                )
            for cells in reader:
                n = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                cells += [""] * (len(HEADER) - len(cells))
                stype, value, collab, category, tags = (c.strip() for c in cells[:5])
                if category and category not in CATEGORIES:
                    raise BankImportError(f"unknown category {category!r}", source=source, line=n)
                if category == "NEGATIVE_CLASS":
                    self.stats["pytx NEGATIVE_CLASS (false positive) rows"] += 1
                    continue
                if stype not in _TYPES:
                    self.stats[f"pytx signal type {stype!r}"] += 1
                    continue
                yield (stype, value, opt(tags), opt(collab), None, None, False, n)
        except _csv.Error as exc:
            raise BankImportError(f"bad CSV: {exc}", source=source, line=reader.line_num) from None

    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        """Live entries only: the format has no tombstones."""
        w = _csv.writer(stream, lineterminator="\n")
        w.writerow(HEADER)
        n = 0
        for e in entries:
            if not e.deleted:
                w.writerow((e.hash_type, e.value, e.source or "", "POSITIVE_CLASS", e.label or ""))
                n += 1
        return n


FORMAT = PytxFormat()
parse = FORMAT.parse
write = FORMAT.write
