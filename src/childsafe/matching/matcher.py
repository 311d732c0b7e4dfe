"""``Matcher``: the fast path from computed hashes to bank matches, over one or more banks.

A matcher holds, per bank, one index per hash type, the entries' labels and sources, and the
allow-list (see ``_bank_state``). ``sync`` brings them up to the banks' current versions
incrementally and saves them under ``index_dir/<bank>/`` so the next process loads and
catches up instead of rebuilding. Matching needs no database round trip: entry metadata is
held in compact columns and looked up once per batch.

Matching rules, per bank:

* **PDQ** queries use the hash and all its ``variants`` (dihedral flips, trimmed borders) in one
  kernel call for the whole batch; a match reports the smallest distance over the variants.
  The bank's ``pdq_radius`` applies. A hash whose ``quality`` is below the bank's
  ``pdq_quality_floor`` is not matched and the report says so (``Skip`` with code
  ``low_quality``); a hash with no quality (an ad-hoc ``--hash pdq:...`` query) is matched.
* **Exact** types (md5, sha1, sha256, video_md5) match by equality.
* **vPDQ** queries match video entries under python-threatexchange's thresholds (see
  ``VPDQIndex``; the bank's ``pdq_radius`` is for images and does not apply); ``distance`` is
  ``VPDQHasher.distance``, ``100 - floor(min(query %, compared %))``. A video with no frame
  of quality >= 50 can match nothing and is reported as a ``low_quality`` skip.
* **Allow-list**: a query whose hash equals an allowed value (exact types, vPDQ), whose hash or
  one of its variants is within the bank's radius of an allowed PDQ hash, or whose vPDQ
  matches an allowed vPDQ under the same thresholds, has its matches in that bank moved to
  ``suppressed``: near copies count because a mirrored or re-encoded copy of a known false
  positive is the same false positive, just as such a copy matches a bank entry.
* A malformed query hash is a per-item result (``Skip`` with code ``bad_hash``), never an
  exception that would fail the whole batch.

Thread safety: one lock serialises ``sync`` and matching (the numba kernels already use every
core, and the default numba threading layer must not be entered from two threads at once).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from childsafe.banks.base import BankStore
from childsafe.errors import HashFormatError, IndexError_
from childsafe.hashing.formats import HEX_LENGTHS, canonical
from childsafe.matching._bank_state import BankState, SyncResult, bank_dir
from childsafe.matching.exact_index import ExactIndex
from childsafe.matching.pdq_index import PDQIndex, pack_hex, unpack
from childsafe.matching.vpdq_index import VPDQIndex
from childsafe.types import HashType, HashValue, Match

__all__ = ["MatchReport", "Matcher", "Skip", "SyncResult"]


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a query hash was not matched: ``code`` is ``low_quality`` or ``bad_hash``.

    ``bank`` is None when the hash was refused before any bank was consulted.
    """

    hash_type: str
    code: str
    reason: str
    bank: str | None = None


@dataclass(frozen=True, slots=True)
class MatchReport:
    """Everything matching one item found: matches, allow-listed matches and skips."""

    matches: list[Match] = field(default_factory=list)
    suppressed: list[Match] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    @property
    def skipped_low_quality(self) -> bool:
        """Whether a PDQ hash, or every frame of a vPDQ, was below some bank's quality floor."""
        return any(s.code == "low_quality" for s in self.skipped)


def _order(m: Match) -> tuple[str, int, str, int]:
    return (m.bank, m.distance, m.hash_type, m.entry_id)


class Matcher:
    """Matches hashes against banks; see the module docstring for the rules."""

    def __init__(
        self,
        store: BankStore,
        banks: Sequence[str] | None = None,
        *,
        index_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._names = list(banks) if banks is not None else None
        self._index_dir = Path(index_dir) if index_dir is not None else None
        self._states: dict[str, BankState] = {}
        self._saved: dict[str, tuple[str, int]] = {}  # bank -> (created_at, version) on disk
        self._synced = False
        self._lock = threading.RLock()

    @property
    def banks(self) -> list[str]:
        """Names of the banks matched against, as of the last sync."""
        return sorted(self._states)

    def hash_types(self) -> frozenset[str]:
        """Hash types some bank holds entries of (syncing first if needed).

        Callers hash only these: computing a vPDQ (decoding a whole video) or a PDQ for a
        type no bank can match is work with no possible result.
        """
        with self._lock:
            if not self._synced:
                self.sync()
            return frozenset(
                t
                for state in self._states.values()
                for t, index in state.indexes.items()
                if len(index)
            )

    def bank_states(self) -> dict[str, BankState]:
        """The synced per-bank states (syncing first if needed), for ``MatcherSnapshot.save``."""
        with self._lock:
            if not self._synced:
                self.sync()
            return dict(self._states)

    @classmethod
    def detached(cls, states: Mapping[str, BankState]) -> Matcher:
        """A matcher over states loaded elsewhere, with no store: it matches, never syncs.

        Why: scan workers match against a snapshot saved by the coordinator (see
        ``matching.snapshot``) and must not open the database; the matching code is shared so
        a snapshot matches exactly like the live matcher it was saved from.
        """
        matcher = cls.__new__(cls)
        matcher._store = None  # type: ignore[assignment]  # sync() is never called
        matcher._names = sorted(states)
        matcher._index_dir = None
        matcher._states = dict(states)
        matcher._saved = {}
        matcher._synced = True
        matcher._lock = threading.RLock()
        return matcher

    def version(self, bank: str) -> int:
        """The bank version the matcher's indexes reflect."""
        return self._states[bank].version

    def sync(self, *, save: bool = True) -> list[SyncResult]:
        """Bring every bank's indexes up to its current version, incrementally.

        The first sync in a process loads saved indexes from ``index_dir`` (or builds them
        if there are none or they are unusable); later syncs apply only the changes. With
        ``save``, changed banks are written back to ``index_dir``.
        """
        with self._lock:
            names = self._names or [b.name for b in self._store.list_banks()]
            for gone in set(self._states) - set(names):
                del self._states[gone]
                self._saved.pop(gone, None)
            results = [self._sync_bank(name, save) for name in names]
            self._synced = True
            return results

    def _sync_bank(self, name: str, save: bool) -> SyncResult:
        bank = self._store.get_bank(name)
        state = self._states.get(name)
        how, note = "caught_up", ""
        if state is not None and (
            state.created_at != bank.created_at.isoformat() or state.version > bank.version
        ):
            state, note = None, "bank was recreated"
        if state is None and self._index_dir is not None:
            try:
                state, how = BankState.load(bank_dir(self._index_dir, name), bank), "loaded"
            except IndexError_ as exc:
                note = str(exc)
        if state is None:
            state, how = BankState.build(self._store, bank), "built"
        start = state.version if how != "built" else None
        added = removed = 0
        if state.version < bank.version:
            added, removed = state.catch_up(self._store)
        elif how == "caught_up":
            how = "current"
        state.refresh(bank, self._store)
        self._states[name] = state
        # Write only what differs from disk: a state just loaded and already current *is*
        # what is saved, and rewriting it (O(bank) bytes, fsynced) on every process start
        # was the biggest cost of a short `childsafe match` after hashing.
        on_disk = (state.created_at, state.version)
        if how == "loaded" and start == state.version:
            self._saved[name] = on_disk
        if save and self._index_dir is not None and self._saved.get(name) != on_disk:
            state.save(bank_dir(self._index_dir, name))
            self._saved[name] = on_disk
        return SyncResult(name, how, start, state.version, added, removed, note)

    def match(self, hashes: Mapping[str, HashValue]) -> list[Match]:
        """Every bank match of one item's hashes (allow-listed ones left out)."""
        return self.explain_many([hashes])[0].matches

    def match_many(self, items: Sequence[Mapping[str, HashValue]]) -> list[list[Match]]:
        """``match`` for a batch; all PDQ queries of a bank go through one kernel call."""
        return [report.matches for report in self.explain_many(items)]

    def match_hash(self, hash_type: str, value: str) -> list[Match]:
        """Ad-hoc lookup of one hash (``--hash TYPE:VALUE``); bad input raises."""
        return self.match({hash_type: HashValue(hash_type, canonical(hash_type, value))})

    def explain(self, hashes: Mapping[str, HashValue]) -> MatchReport:
        """Matches plus what was suppressed or skipped, and why."""
        return self.explain_many([hashes])[0]

    def explain_many(self, items: Sequence[Mapping[str, HashValue]]) -> list[MatchReport]:
        """``explain`` for a batch."""
        with self._lock:
            if not self._synced:
                self.sync()
            reports = [MatchReport() for _ in items]
            valid = [self._validate(h, r) for h, r in zip(items, reports, strict=True)]
            frames = _VideoFrames(valid)
            for name in sorted(self._states):
                state = self._states[name]
                self._match_pdq(state, valid, reports)
                self._match_exact(state, valid, reports)
                self._match_vpdq(state, frames, reports)
            for report in reports:
                report.matches.sort(key=_order)
                report.suppressed.sort(key=_order)
            return reports

    @staticmethod
    def _validate(hashes: Mapping[str, HashValue], report: MatchReport) -> dict[str, HashValue]:
        out = {}
        for hash_type, hv in hashes.items():
            if hash_type not in HEX_LENGTHS and hash_type != HashType.VPDQ:
                continue  # no index matches this type; nothing to report
            try:
                value = canonical(hash_type, hv.value)
                variants = tuple(canonical(hash_type, v) for v in hv.variants)
            except HashFormatError as exc:
                report.skipped.append(Skip(hash_type, "bad_hash", str(exc)))
                continue
            out[hash_type] = HashValue(hash_type, value, hv.quality, variants)
        return out

    def _match_pdq(
        self, state: BankState, items: list[dict[str, HashValue]], reports: list[MatchReport]
    ) -> None:
        index = state.indexes.get(HashType.PDQ)
        if not isinstance(index, PDQIndex) or len(index) == 0:
            return
        values: list[str] = []
        owner_list: list[int] = []
        for i, hashes in enumerate(items):
            hv = hashes.get(HashType.PDQ)
            if hv is None:
                continue
            if hv.quality is not None and hv.quality < state.quality_floor:
                reason = f"pdq quality {hv.quality} is below the floor {state.quality_floor}"
                reports[i].skipped.append(Skip("pdq", "low_quality", reason, state.name))
                continue
            values.extend((hv.value, *hv.variants))
            owner_list.extend([i] * (1 + len(hv.variants)))
        if not values:
            return
        queries, owners = pack_hex(values), np.asarray(owner_list, np.int64)
        hits = index.search(queries, state.radius)
        if len(hits.entry_ids) == 0:
            return
        own = owners[hits.query_idx]
        # Keep the smallest distance per (item, entry) over the item's variants.
        order = np.lexsort((hits.distances, hits.entry_ids, own))
        first = np.ones(len(order), np.bool_)
        first[1:] = (np.diff(own[order]) != 0) | (np.diff(hits.entry_ids[order]) != 0)
        sel = order[first]
        allowed: set[int] = set()
        if state.allowed_pdq is not None:
            near = state.allowed_pdq.search(queries, state.radius)
            allowed = set(owners[near.query_idx].tolist())
        ids = hits.entry_ids[sel]
        labels, sources = state.meta.lookup(ids)
        bank_values = unpack(hits.hashes[sel])
        for k, (item, entry_id, dist) in enumerate(
            zip(own[sel].tolist(), ids.tolist(), hits.distances[sel].tolist(), strict=True)
        ):
            m = Match(state.name, "pdq", bank_values[k], dist, entry_id, labels[k], sources[k])
            report = reports[item]
            (report.suppressed if item in allowed else report.matches).append(m)

    def _match_exact(
        self, state: BankState, items: list[dict[str, HashValue]], reports: list[MatchReport]
    ) -> None:
        for hash_type, index in state.indexes.items():
            if not isinstance(index, ExactIndex) or len(index) == 0:
                continue
            asked = [(i, h[hash_type].value) for i, h in enumerate(items) if hash_type in h]
            if not asked:
                continue
            results = index.query([value for _, value in asked])
            found = [
                (item, value, entry_id)
                for (item, value), hits in zip(asked, results, strict=True)
                for entry_id, _ in hits
            ]
            if not found:
                continue
            labels, sources = state.meta.lookup(np.array([f[2] for f in found], np.int64))
            allowed = state.allowed_exact.get(hash_type, frozenset())
            for k, (item, value, entry_id) in enumerate(found):
                m = Match(state.name, hash_type, value, 0, entry_id, labels[k], sources[k])
                report = reports[item]
                (report.suppressed if value in allowed else report.matches).append(m)

    def _match_vpdq(
        self, state: BankState, frames: _VideoFrames, reports: list[MatchReport]
    ) -> None:
        index = state.indexes.get(HashType.VPDQ)
        if not isinstance(index, VPDQIndex) or len(index) == 0 or not frames.items:
            return
        per_video = frames.comparable(index)
        usable = [k for k, hashes in enumerate(per_video) if hashes]
        for k, item in enumerate(frames.items):
            if not per_video[k]:
                reason = f"no vpdq frame has quality >= {index.quality_floor}"
                reports[item].skipped.append(Skip("vpdq", "low_quality", reason, state.name))
        results = index.query_frames([per_video[k] for k in usable])
        found = [
            (k, entry, dist)
            for k, hits in zip(usable, results, strict=True)
            for entry, dist in hits
        ]
        if not found:
            return
        allowed_values = state.allowed_exact.get(HashType.VPDQ, frozenset())
        allowed = {k for k, _, _ in found if frames.values[k] in allowed_values}
        if state.allowed_vpdq is not None:
            near = sorted({k for k, _, _ in found} - allowed)
            hits = state.allowed_vpdq.query_frames([per_video[k] for k in near])
            allowed.update(k for k, h in zip(near, hits, strict=True) if h)
        labels, sources = state.meta.lookup(np.array([f[1] for f in found], np.int64))
        for n, (k, entry, dist) in enumerate(found):
            m = Match(state.name, "vpdq", index.value(entry), dist, entry, labels[n], sources[n])
            report = reports[frames.items[k]]
            (report.suppressed if k in allowed else report.matches).append(m)


class _VideoFrames:
    """The batch's vPDQ queries, parsed once per quality floor however many banks hold videos.

    Parsing is the costly part of a vPDQ query for a long video (a 3-hour video is 10,800
    frame strings), and every bank's index uses the same floor, so this is usually one parse.
    A malformed value was already refused by ``_validate``.
    """

    def __init__(self, items: list[dict[str, HashValue]]) -> None:
        self.items = [i for i, h in enumerate(items) if HashType.VPDQ in h]
        self.values = [items[i][HashType.VPDQ].value for i in self.items]
        self._parsed: dict[int, list[list[str]]] = {}

    def comparable(self, index: VPDQIndex) -> list[list[str]]:
        """Each query's frame hashes that take part in matching under ``index``'s floor."""
        parsed = self._parsed.get(index.quality_floor)
        if parsed is None:
            parsed = self._parsed[index.quality_floor] = index.comparable(self.values)
        return parsed
