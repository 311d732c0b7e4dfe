"""A read-only copy of a synced ``Matcher`` on disk, for scan workers.

Why: a dataset scan runs many workers (local processes, Ray tasks on other machines) that
must all match against the *same* bank versions and must never open the database. The
coordinator syncs a ``Matcher`` once and saves a snapshot; every worker loads it. Loading
memory-maps the index arrays (``_persist``), so N local workers share one copy of the pages.

Layout of the directory::

    snapshot.json            banks (name, version, created_at, radius, floor, allow-list)
    <bank>/...               ``BankState.save`` output: one index per hash type, _entries/
    <bank>/_prefix/<type>/   first 8 bytes of each sorted exact key as big-endian uint64

The prefix columns exist for the vectorised lookups the hashes-only fast path makes: a
``searchsorted`` over fixed-width ``S16`` keys ran at ~0.4 M queries/s, over a uint64 column
with the queries sorted first at ~15 M/s (measured, 1M queries against 1M keys). Candidates
found through the prefix are confirmed on the full key, so a prefix collision cannot match.

Matching through :meth:`FrozenMatcher.match_many` is the live matcher's own code
(``Matcher.detached``), so a snapshot matches exactly like the matcher it was saved from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from childsafe.banks.base import Bank
from childsafe.errors import IndexError_
from childsafe.matching._bank_state import BankState, bank_dir
from childsafe.matching._persist import read_index_dir, write_index_dir
from childsafe.matching.exact_index import ExactIndex
from childsafe.matching.matcher import Matcher, MatchReport
from childsafe.matching.pdq_index import PDQIndex, pack_hex, unpack
from childsafe.matching.vpdq_index import VPDQIndex
from childsafe.types import HashType, HashValue, Match

FORMAT = "childsafe-matcher-snapshot"
_PREFIX = "childsafe-exact-prefix"
_MANIFEST = "snapshot.json"

__all__ = ["BankVersion", "FrozenMatcher", "Hits", "MatcherSnapshot"]


@dataclass(frozen=True, slots=True)
class BankVersion:
    """A bank and the version a snapshot holds (recorded in the scan summary)."""

    name: str
    version: int


@dataclass(slots=True)
class Hits:
    """Matches of a batch as parallel columns: query row, bank, entry, distance, value, label.

    Vectorised callers turn these into Arrow columns directly; there is one Python string per
    *hit* (rare), none per query.
    """

    row: np.ndarray
    bank: list[str]
    hash_type: str
    entry_id: np.ndarray
    distance: np.ndarray
    value: list[str]
    label: list[str | None]

    @classmethod
    def empty(cls, hash_type: str) -> Hits:
        return cls(
            np.empty(0, np.int64),
            [],
            hash_type,
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            [],
            [],
        )

    def extend(self, other: Hits) -> None:
        self.row = np.concatenate([self.row, other.row])
        self.entry_id = np.concatenate([self.entry_id, other.entry_id])
        self.distance = np.concatenate([self.distance, other.distance])
        self.bank += other.bank
        self.value += other.value
        self.label += other.label


def _prefix(keys: np.ndarray) -> np.ndarray:
    """The first 8 bytes of fixed-width keys as uint64 that sort like the keys themselves."""
    raw = np.ascontiguousarray(keys).view(np.uint8).reshape(len(keys), -1)[:, :8]
    return np.ascontiguousarray(raw).view(">u8").reshape(-1).astype(np.uint64)


class MatcherSnapshot:
    """Save a synced matcher to a directory; load it back as a :class:`FrozenMatcher`."""

    @staticmethod
    def save(matcher: Matcher, directory: Path) -> list[BankVersion]:
        """Write every bank's state; the manifest goes last, so a partial save never loads."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / _MANIFEST).unlink(missing_ok=True)
        banks: list[dict[str, Any]] = []
        for name, state in sorted(matcher.bank_states().items()):
            where = bank_dir(directory, name)
            state.save(where)
            for hash_type, index in state.indexes.items():
                if isinstance(index, ExactIndex):
                    keys = ExactIndex.load(where / hash_type, verify=False)._keys
                    meta = {"hash_type": hash_type}
                    write_index_dir(
                        where / "_prefix" / hash_type, _PREFIX, {"prefix": _prefix(keys)}, meta
                    )
            pdq_allowed = state.allowed_pdq
            banks.append(
                {
                    "name": name,
                    "dir": where.name,
                    "version": state.version,
                    "created_at": state.created_at,
                    "pdq_radius": state.radius,
                    "pdq_quality_floor": state.quality_floor,
                    "allowed": {k: sorted(v) for k, v in sorted(state.allowed_exact.items())},
                    "allowed_pdq": unpack(pdq_allowed.entries()[0]) if pdq_allowed else [],
                }
            )
        tmp = directory / f".{_MANIFEST}.tmp"
        tmp.write_text(json.dumps({"format": FORMAT, "banks": banks}, indent=1), "utf-8")
        tmp.replace(directory / _MANIFEST)
        return [BankVersion(b["name"], b["version"]) for b in banks]

    @staticmethod
    def load(directory: Path) -> FrozenMatcher:
        """Memory-map a saved snapshot; ``IndexError_`` naming what is missing or damaged."""
        directory = Path(directory)
        try:
            doc = json.loads((directory / _MANIFEST).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexError_(f"{directory}: no usable matcher snapshot ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise IndexError_(f"{directory}: not a matcher snapshot")
        states: dict[str, BankState] = {}
        prefixes: dict[tuple[str, str], np.ndarray] = {}
        for b in doc["banks"]:
            bank = Bank(
                b["name"],
                b["version"],
                datetime.fromisoformat(b["created_at"]),
                pdq_radius=b["pdq_radius"],
                pdq_quality_floor=b["pdq_quality_floor"],
            )
            state = BankState.load(directory / b["dir"], bank)
            if state.version != bank.version:
                raise IndexError_(f"{directory / b['dir']}: indexes are not all at one version")
            _set_allowed(state, b["allowed"], b["allowed_pdq"])
            states[bank.name] = state
            for hash_type, index in state.indexes.items():
                if isinstance(index, ExactIndex):
                    path = directory / b["dir"] / "_prefix" / hash_type
                    arrays, _ = read_index_dir(path, _PREFIX, ("prefix",))
                    if len(arrays["prefix"]) != len(index._keys):
                        raise IndexError_(f"{path}: out of step with its index")
                    prefixes[bank.name, hash_type] = arrays["prefix"]
        return FrozenMatcher(states, prefixes)


def _set_allowed(state: BankState, exact: Mapping[str, list[str]], pdq: list[str]) -> None:
    """The allow-list as ``BankState.refresh`` builds it, from the saved values."""
    state.allowed_exact = {k: frozenset(v) for k, v in exact.items()}
    state.allowed_pdq = None
    if pdq:
        state.allowed_pdq = PDQIndex()
        state.allowed_pdq.add_packed(pack_hex(pdq), np.arange(len(pdq)))
    videos = sorted(state.allowed_exact.get(HashType.VPDQ, ()))
    state.allowed_vpdq = VPDQIndex.build(videos, range(len(videos))) if videos else None


class FrozenMatcher:
    """A matcher loaded from a snapshot: matches like the live one, never syncs."""

    def __init__(
        self, states: dict[str, BankState], prefixes: dict[tuple[str, str], np.ndarray]
    ) -> None:
        self._states = states
        self._prefixes = prefixes
        self._matcher = Matcher.detached(states)

    @property
    def banks(self) -> list[BankVersion]:
        """Each bank and the version matched against, by name."""
        return [BankVersion(n, s.version) for n, s in sorted(self._states.items())]

    def hash_types(self) -> frozenset[str]:
        """Hash types some bank holds entries of."""
        return self._matcher.hash_types()

    def match_many(self, items: Sequence[Mapping[str, HashValue]]) -> list[list[Match]]:
        """Every bank match of each item (allow-listed ones left out); see ``Matcher``."""
        return self._matcher.match_many(items)

    def explain_many(self, items: Sequence[Mapping[str, HashValue]]) -> list[MatchReport]:
        """Matches plus what was suppressed or skipped, per item."""
        return self._matcher.explain_many(items)

    def lookup_exact(self, hash_type: str, keys: np.ndarray, rows: np.ndarray) -> Hits:
        """Matches of digests given as an ``(n, width)`` uint8 array (row ``rows[i]``).

        Equivalent to ``match_many`` on those digests, as columns. Queries are sorted once
        so the binary searches walk the prefix column in order (cache friendly).
        """
        out = Hits.empty(hash_type)
        if len(keys) == 0:
            return out
        width = keys.shape[1]
        q_full = np.ascontiguousarray(keys).view(f"S{width}").reshape(-1)
        q_pre = _prefix(q_full)
        order = np.argsort(q_pre, kind="stable")
        q_sorted = q_pre[order]
        for name, state in sorted(self._states.items()):
            index = state.indexes.get(hash_type)
            if not isinstance(index, ExactIndex) or len(index) == 0:
                continue
            prefix = self._prefixes[name, hash_type]
            lo = np.searchsorted(prefix, q_sorted, "left")
            hi = np.searchsorted(prefix, q_sorted, "right")
            counts = hi - lo
            if not counts.any():
                continue
            qi = np.repeat(order, counts)  # query position per candidate
            first = np.repeat(lo, counts)
            step = np.arange(len(qi)) - np.repeat(np.cumsum(counts) - counts, counts)
            pos = first + step
            same = index._keys[pos] == q_full[qi]
            qi, pos = qi[same], pos[same]
            values = [bytes(k).hex() for k in index._keys[pos].tolist()]
            allowed = state.allowed_exact.get(hash_type, frozenset())
            keep = np.array([v not in allowed for v in values], np.bool_)
            if not keep.all():
                qi, pos = qi[keep], pos[keep]
                values = [v for v, k in zip(values, keep.tolist(), strict=True) if k]
            ids = index._ids[pos]
            labels, _ = state.meta.lookup(ids)
            out.extend(
                Hits(
                    rows[qi],
                    [name] * len(qi),
                    hash_type,
                    ids,
                    np.zeros(len(qi), np.int64),
                    values,
                    labels,
                )
            )
        return out

    def lookup_pdq(self, packed: np.ndarray, quality: np.ndarray, rows: np.ndarray) -> Hits:
        """PDQ matches of packed ``(n, 4)`` hashes with their qualities (-1: unknown).

        Equivalent to ``match_many`` on hashes without variants (precomputed PDQ values carry
        none): quality below a bank's floor skips that bank; a hit within the radius of an
        allow-listed hash is left out. Costs one brute-force pass per bank: about
        ``N_bank`` hash comparisons per query (~1e9 per second per core).
        """
        out = Hits.empty(HashType.PDQ)
        for name, state in sorted(self._states.items()):
            index = state.indexes.get(HashType.PDQ)
            if not isinstance(index, PDQIndex) or len(index) == 0:
                continue
            ok = (quality < 0) | (quality >= state.quality_floor)
            sel = np.flatnonzero(ok)
            if len(sel) == 0:
                continue
            hits = index.search(packed[sel], state.radius)
            if len(hits.entry_ids) == 0:
                continue
            qi = sel[hits.query_idx]
            keep = np.ones(len(qi), np.bool_)
            if state.allowed_pdq is not None:
                near = state.allowed_pdq.search(packed[sel], state.radius)
                keep = ~np.isin(qi, sel[near.query_idx])
            ids = hits.entry_ids[keep]
            labels, _ = state.meta.lookup(ids)
            out.extend(
                Hits(
                    rows[qi[keep]],
                    [name] * len(ids),
                    HashType.PDQ,
                    ids,
                    hits.distances[keep],
                    unpack(hits.hashes[keep]),
                    labels,
                )
            )
        return out
