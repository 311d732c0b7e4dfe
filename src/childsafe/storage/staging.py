"""Staging a batch for the bulk insert: deduplicated, sorted, and serialised in big blocks.

Rows are inserted sorted by (hash_type, value), the unique key, so each B-tree is appended
to rather than written at random: more than twice as fast on both databases. What the
databases receive is a block of text per chunk (a JSON array for SQLite's ``json_each``,
``COPY`` lines for PostgreSQL) holding values, plus a provenance id per row when rows
differ in more than their value (see ``storage.bulk``).

Two forms, one interface:

* :class:`Hashes`, for a batch of :class:`~childsafe.banks.batch.Columns` with fixed-width
  plain values (every validated hash list of one type): the values live in one numpy
  ``S<width>`` array, sorted and deduplicated in C on contiguous memory, and each block is
  written with array slicing: no per-value Python at all. Python's own sort, and every
  pass over a million strings in sorted (so random memory) order after it, measured
  several times slower.
* :class:`Rows`, for everything else: the last record per key wins, provenances are
  numbered, and rows are sorted by two stable sorts (a tuple key made it 4x slower).

Both read their inputs in file order only, for the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import add, itemgetter

import numpy as np

from childsafe.banks.batch import Columns, RecordBatch, Row

# Rows per block: big enough that per-block overhead vanishes, small enough that one
# block's strings stay at tens of megabytes.
CHUNK = 200_000
_PROVENANCE = itemgetter(0, 2, 3, 4, 5)  # hash_type, label, source, external_id, member
_VALUE = itemgetter(1)
# Printable ASCII minus quote and backslash: what a JSON string or a COPY text field can
# hold as it is. Deleting these from a validated hash leaves nothing.
_PLAIN = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')
_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Provenance = tuple[str, str | None, str | None, str | None, str | None]
_VAL, _ID = "value", "id"  # placeholders in a block's record layout (literals are bytes)


def stage(batch: RecordBatch) -> tuple[Hashes | Rows | None, list[tuple[str, str]]]:
    """Entries to add (None if none) and (hash_type, value) keys to remove."""
    if batch.columns is not None and (hashes := Hashes.of(batch.columns)) is not None:
        return hashes, []
    latest = last_wins(batch.rows)
    adds = [r for r in latest if not r[6]]
    removes = [(r[0], r[1]) for r in latest if r[6]]
    return (Rows.of(adds) if adds else None), removes


def last_wins(rows: Sequence[Row]) -> Sequence[Row]:
    """The last row for each (hash_type, value), in file order.

    A set of values answers "no repeats" (a fresh list) at half the cost of the dict that
    is needed otherwise, and with one hash type the value alone is the key.
    """
    one_type = len(set(map(itemgetter(0), rows))) <= 1
    if one_type and len(set(map(_VALUE, rows))) == len(rows):
        return rows
    key = _VALUE if one_type else itemgetter(0, 1)
    return list(dict(zip(map(key, rows), rows, strict=True)).values())


def plain(text: str) -> bool:
    """Whether text needs no escaping in a JSON string or a COPY field (one C pass)."""
    return text.isascii() and not text.encode("ascii").translate(None, _PLAIN)


@dataclass(slots=True)
class Hashes:
    """Fixed-width plain values of one hash type, sorted and unique, as numpy arrays.

    ``ids`` (when there are several provenances) is each value's provenance index; in
    blocks it is written zero-padded, so every record keeps one width.
    """

    provenances: list[Provenance]
    values: np.ndarray  # dtype S<width>
    ids: np.ndarray | None

    @classmethod
    def of(cls, c: Columns) -> Hashes | None:
        width = len(c.values[0]) if c.values else 0
        if not width or set(map(len, c.values)) != {width}:
            return None
        joined = "".join(c.values)
        if not plain(joined):
            return None
        values = np.frombuffer(joined.encode("ascii"), dtype=f"S{width}")
        provs = [(c.hash_type, *p) for p in c.provenances]
        if c.ids is None:
            values = np.sort(values)
            keep = np.empty(len(values), dtype=bool)
            keep[0] = True  # the first of each run: all copies are alike
            np.not_equal(values[1:], values[:-1], out=keep[1:])
            return cls(provs, values if keep.all() else values[keep], None)
        order = np.argsort(values, kind="stable")  # equal values stay in file order
        values = values[order]
        ids = np.asarray(c.ids, dtype=np.int64)[order]
        keep = np.empty(len(values), dtype=bool)
        keep[-1] = True  # the last of each run: the last record for a hash wins
        np.not_equal(values[:-1], values[1:], out=keep[:-1])
        if not keep.all():
            values, ids = values[keep], ids[keep]
        return cls(provs, values, ids)

    @property
    def tagged(self) -> bool:
        return self.ids is not None

    def __len__(self) -> int:
        return len(self.values)

    def _blocks(self, *parts: bytes | str) -> Iterator[bytes]:
        """Each block of records: ``parts`` joined, ``_VAL`` standing for the value and
        ``_ID`` for the zero-padded provenance id; built by array slicing, no Python loop."""
        digits = len(str(len(self.provenances) - 1))
        for start in range(0, len(self.values), CHUNK):
            chunk = self.values[start : start + CHUNK]
            cols: list[np.ndarray] = []
            for part in parts:
                if part == _VAL:
                    cols.append(chunk.view(np.uint8).reshape(len(chunk), -1))
                elif part == _ID and self.ids is not None:
                    ids = self.ids[start : start + CHUNK, None]
                    powers = 10 ** np.arange(digits - 1, -1, -1)
                    cols.append((ids // powers % 10 + ord("0")).astype(np.uint8))
                elif isinstance(part, bytes):
                    row = np.frombuffer(part, dtype=np.uint8)
                    cols.append(np.broadcast_to(row, (len(chunk), len(row))))
            yield np.hstack(cols).tobytes()

    def json_blocks(self) -> Iterator[str]:
        record = (b'"', _ID, b":", _VAL, b'",') if self.tagged else (b'"', _VAL, b'",')
        for block in self._blocks(*record):
            yield "[" + block[:-1].decode("ascii") + "]"

    def copy_blocks(self) -> Iterator[bytes]:
        return self._blocks(*((_VAL, b"\t", _ID, b"\n") if self.tagged else (_VAL, b"\n")))

    def provenance_of(self, hash_type: str, value: str) -> Provenance | None:
        """The provenance a row adding this hash carries, or None if none adds it."""
        if hash_type != self.provenances[0][0] or not plain(value):
            return None
        key = value.encode("ascii")
        i = int(np.searchsorted(self.values, key))
        if i == len(self.values) or self.values[i] != key:
            return None
        return self.provenances[0 if self.ids is None else int(self.ids[i])]


@dataclass(slots=True)
class Rows:
    """Any rows: values sorted by key, with a provenance id each when there are several."""

    provenances: list[Provenance]
    values: list[str]
    ids: list[int] | None  # None: every row has provenances[0]
    _index: dict[tuple[str, str], Provenance] | None = None

    @classmethod
    def of(cls, adds: Sequence[Row]) -> Rows:
        """``adds`` must not repeat a key (see :func:`last_wins`)."""
        if all(len(set(map(itemgetter(i), adds))) == 1 for i in (0, 2, 3, 4, 5)):
            return cls([_PROVENANCE(adds[0])], sorted(map(_VALUE, adds)), None)
        provs = {p: i for i, p in enumerate(dict.fromkeys(map(_PROVENANCE, adds)))}
        rows = sorted(adds, key=_VALUE)
        rows.sort(key=itemgetter(0))
        ids = list(map(provs.__getitem__, map(_PROVENANCE, rows)))
        return cls(list(provs), list(map(_VALUE, rows)), ids)

    @property
    def tagged(self) -> bool:
        return self.ids is not None

    def __len__(self) -> int:
        return len(self.values)

    def _chunks(self) -> Iterator[tuple[list[str], list[int] | None]]:
        for i in range(0, len(self.values), CHUNK):
            ids = None if self.ids is None else self.ids[i : i + CHUNK]
            yield self.values[i : i + CHUNK], ids

    def json_blocks(self) -> Iterator[str]:
        """JSON arrays of values, or of ``"<provenance id>:<value>"`` when tagged.

        A non-string value (a caller's bug) raises ``TypeError``, so the insert rolls back.
        """
        tags = [f"{i}:" for i in range(len(self.provenances))]
        for values, ids in self._chunks():
            if ids is not None:
                values = list(map(add, map(tags.__getitem__, ids), values))
            body = '","'.join(values)
            yield f'["{body}"]' if plain(body) else json.dumps(values)

    def copy_blocks(self) -> Iterator[str]:
        """COPY text lines: ``value``, or ``value<TAB>provenance id`` when tagged."""
        tags = [f"\t{i}\n" for i in range(len(self.provenances))]
        for values, ids in self._chunks():
            joined = "\n".join(values)
            if not plain(joined):
                values = [v.translate(_COPY_SPECIAL) for v in values]
                joined = "\n".join(values)
            if ids is None:
                yield joined + "\n"
            else:
                lines = zip(values, map(tags.__getitem__, ids), strict=True)
                yield "".join(chain.from_iterable(lines))

    def provenance_of(self, hash_type: str, value: str) -> Provenance | None:
        """The provenance a row adding this hash carries, or None if none adds it."""
        if self._index is None:
            ids = self.ids or [0] * len(self.values)
            provs = [self.provenances[i] for i in ids]
            self._index = {(p[0], v): p for p, v in zip(provs, self.values, strict=True)}
        return self._index.get((hash_type, value))
