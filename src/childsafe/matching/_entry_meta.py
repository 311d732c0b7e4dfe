"""Entry id -> (label, source) for one bank, as compact columns the matcher keeps in memory.

Why here and not a database query: a ``Match`` carries the entry's label and source, and the
``BankStore`` interface has no fetch-by-id (nor should a scan pay a round trip per match).
Labels and sources repeat heavily (a few classifications, one source per imported file), so
each is an int32 code into a string table: 16 B per entry with the sorted int64 id column,
looked up for a whole batch with one ``np.searchsorted``.

Removed ids are only remembered at first (a stale row is never looked up, because the
indexes no longer return its id) and dropped in one pass once they are a quarter of the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from childsafe.banks.base import BankEntry
from childsafe.errors import IndexError_
from childsafe.matching import _kernels
from childsafe.matching._persist import read_index_dir, write_index_dir

_FORMAT = "childsafe-entry-meta"


class EntryMeta:
    """Sorted id column with label/source codes; see the module docstring."""

    def __init__(self) -> None:
        self._ids = np.empty(0, np.int64)
        self._codes = np.empty((0, 2), np.int32)
        self._strings: list[str | None] = [None]
        self._code_of: dict[str | None, int] = {None: 0}
        self._stale: set[int] = set()
        self.extra: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._ids) - len(self._stale)

    def _code(self, text: str | None) -> int:
        code = self._code_of.get(text)
        if code is None:
            code = self._code_of[text] = len(self._strings)
            self._strings.append(text)
        return code

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id has a (non-stale) row."""
        pos = np.minimum(np.searchsorted(self._ids, ids), max(len(self._ids) - 1, 0))
        found = self._ids[pos] == ids if len(self._ids) else np.zeros(len(ids), np.bool_)
        if self._stale:
            found &= ~np.isin(ids, np.fromiter(self._stale, np.int64))
        return np.asarray(found, dtype=np.bool_)

    def upsert(self, entries: Sequence[BankEntry]) -> None:
        """Add rows for these entries (replacing rows with the same id)."""
        if not entries:
            return
        ids = np.fromiter((e.entry_id for e in entries), np.int64, len(entries))
        codes = np.array([(self._code(e.label), self._code(e.source)) for e in entries], np.int32)
        self._stale.difference_update(ids.tolist())
        if len(self._ids) and (ids.min() <= self._ids[-1] or np.any(np.diff(ids) <= 0)):
            # Out of order or re-added ids: merge and keep the newest row per id.
            all_ids = np.concatenate([self._ids, ids])
            all_codes = np.concatenate([self._codes, codes])
            order = np.argsort(all_ids, kind="stable")[::-1]
            _, first = np.unique(all_ids[order], return_index=True)
            keep = order[first]  # ascending ids, since np.unique sorts
            self._ids, self._codes = all_ids[keep], all_codes[keep]
            return
        order = np.argsort(ids, kind="stable")
        self._ids = np.concatenate([self._ids, ids[order]])
        self._codes = np.concatenate([self._codes, codes[order]])

    def discard(self, ids: Iterable[int]) -> None:
        """Forget these ids (lazily; see the module docstring); absent ids are ignored."""
        arr = np.fromiter(ids, np.int64)
        self._stale.update(arr[self.contains(arr)].tolist())
        if len(self._stale) > max(1024, len(self._ids) // 4):
            gone = _kernels.member_mask(self._ids, np.array(sorted(self._stale), np.int64))
            self._ids, self._codes = self._ids[~gone], self._codes[~gone]
            self._stale.clear()

    def lookup(self, ids: np.ndarray) -> tuple[list[str | None], list[str | None]]:
        """Labels and sources of ids known to be present."""
        pos = np.searchsorted(self._ids, ids)
        if len(ids) and (pos.max() >= len(self._ids) or np.any(self._ids[pos] != ids)):
            raise IndexError_("entry metadata is out of step with the index; resync the matcher")
        codes = self._codes[pos]
        strings = self._strings
        labels = [strings[c] for c in codes[:, 0].tolist()]
        return labels, [strings[c] for c in codes[:, 1].tolist()]

    def save(self, path: Path, *, extra: Mapping[str, Any]) -> None:
        """Write the live rows and the string table atomically."""
        ids, codes = self._ids, self._codes
        if self._stale:
            gone = _kernels.member_mask(ids, np.array(sorted(self._stale), np.int64))
            ids, codes = ids[~gone], codes[~gone]
        meta = {"count": len(ids), "strings": self._strings, "extra": dict(extra)}
        write_index_dir(path, _FORMAT, {"ids": ids, "codes": codes}, meta)

    @classmethod
    def load(cls, path: Path) -> EntryMeta:
        """Read what :meth:`save` wrote; ``IndexError_`` if it is damaged."""
        arrays, meta = read_index_dir(path, _FORMAT, ("ids", "codes"))
        strings = meta.get("strings")
        count = meta.get("count")
        ids, codes = arrays["ids"], arrays["codes"]
        if not isinstance(strings, list) or ids.shape != (count,) or codes.shape != (count, 2):
            raise IndexError_(f"{path}: entry metadata does not hold {count} rows")
        if len(codes) and (codes.min() < 0 or codes.max() >= len(strings)):
            raise IndexError_(f"{path}: entry metadata refers to strings it does not have")
        out = cls()
        out._ids, out._codes = np.array(ids, np.int64), np.array(codes, np.int32)
        out._strings = list(strings)
        out._code_of = {s: i for i, s in enumerate(out._strings)}
        out.extra = dict(meta.get("extra") or {})
        return out
