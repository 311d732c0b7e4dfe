"""Validation of parsed rows: every hash canonical, or a ``BankImportError`` naming its line.

:func:`reference` checks row by row with ``hashing.formats.canonical``: the definition.
:func:`validate` first tries the fast path, :func:`canonical_hex`, which checks a whole batch of
one fixed-length hex type (md5, sha1, sha256, pdq, video_md5: every big list) with a few
string operations over all values joined, about twenty times faster than a million
``canonical`` calls. It only ever *accepts*: when anything is off it returns None and the
reference runs, so a bad line is always reported by the reference, with its exact number.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import repeat
from operator import itemgetter

from childsafe.banks.batch import Provenance, RecordBatch, Row
from childsafe.errors import BankImportError, HashFormatError
from childsafe.hashing.formats import HEX_LENGTHS, canonical

# Deleting these from lower-cased text leaves nothing when it is hex lines only.
_HEX_LINES = dict.fromkeys(map(ord, string.digits + "abcdef\n"))


def validate(
    batch: RecordBatch, *, where: str, source: str, label: str | None
) -> tuple[RecordBatch, list[Row]]:
    """Records with canonical values, ``label``/``source`` filled in; and tombstones by id.

    Tombstones that carry only an entry id (NCMEC deletions) have no hash to check and are
    returned apart, for the importer to resolve. A batch of columns stays one, and only
    its handful of provenances are filled in.
    """
    c = batch.columns
    if c is not None and (values := canonical_hex(c.hash_type, c.values)) is not None:
        provs: list[Provenance] = [
            (lb if lb is not None else label, src or source, ext, member)
            for lb, src, ext, member in c.provenances
        ]
        return RecordBatch.from_columns(replace(c, values=values, provenances=provs)), []
    rows = batch.rows
    fast = fast_hex(rows, source=source, label=label)
    if fast is not None:
        return RecordBatch(fast), []
    tombstones: list[Row] = []
    out = reference(rows, where=where, source=source, label=label, tombstones=tombstones)
    return RecordBatch(out), tombstones


def reference(
    rows: Iterable[Row], *, where: str, source: str, label: str | None, tombstones: list[Row]
) -> Iterator[Row]:
    """Row-by-row validation; tombstones by entry id are appended to ``tombstones``."""
    for r in rows:
        htype, value = r[0], r[1]
        if r[6] and not value:  # a tombstone by external id (NCMEC deleted entries)
            tombstones.append(r)
            continue
        try:
            v = canonical(htype, value)
        except HashFormatError as exc:
            raise BankImportError(str(exc), source=where, line=r[7]) from None
        yield (htype, v, r[2] if r[2] is not None else label, r[3] or source, r[4], r[5],
               r[6], r[7])  # fmt: skip


def canonical_hex(hash_type: str, values: list[str]) -> list[str] | None:
    """``[canonical(hash_type, v) for v in values]`` when every one passes; else None.

    All values of the type's length, joined by newlines: the text is ASCII, and lower-cased
    holds nothing but hex digits and exactly ``len - 1`` newlines, so no value hides one.
    ``canonical`` also strips whitespace; a value that needs it fails here and goes to the
    reference, which is rare enough not to matter.
    """
    want = HEX_LENGTHS.get(hash_type)
    if want is None or not values or set(map(len, values)) != {want}:
        return None
    joined = "\n".join(values)
    if not joined.isascii():
        return None
    lower = joined.lower()
    if lower.translate(_HEX_LINES) or lower.count("\n") != len(values) - 1:
        return None
    return values if lower == joined else lower.split("\n")


def fast_hex(rows: list[Row], *, source: str, label: str | None) -> list[Row] | None:
    """What :func:`reference` returns for rows of one hex type that all pass; else None."""
    if not rows or len(types := set(map(itemgetter(0), rows))) != 1:
        return None
    values = canonical_hex(types.pop(), list(map(itemgetter(1), rows)))
    if values is None:
        return None
    labels = list(map(itemgetter(2), rows))
    if label is not None:
        labels = [x if x is not None else label for x in labels]
    sources = [x or source for x in map(itemgetter(3), rows)]
    n = len(rows)
    rest = (list(map(itemgetter(i), rows)) for i in (4, 5, 6, 7))
    return list(zip(repeat(rows[0][0], n), values, labels, sources, *rest, strict=True))
