"""One bank's matching state: its indexes, entry metadata and allow-list, kept in step.

Lifecycle: the first time, ``build`` reads every entry once; after that ``catch_up`` applies
``store.changes_since(bank, version)`` and ``save`` writes each index to
``<dir>/<hash_type>/`` and the metadata to ``<dir>/_entries/``, each with the bank version it
reflects. The next process ``load``s them and catches up from the oldest saved version.

Why replaying changes is always safe: ``catch_up`` first removes every removed id *and* every
added id it already holds, then adds the live added entries. Applying a change twice therefore
gives the same state as applying it once, so a crash between saving two indexes, or entries
that changed while a full build was reading, only cost a little replay, never a wrong index.
``_entries`` is written last and lists the hash types saved; a type listed but missing, a
version newer than the bank's, or a bank recreated under the same name forces a full build.

vPDQ entries get a ``VPDQIndex`` with python-threatexchange's thresholds (query match >= 80 %,
frame radius 31, frame quality >= 50), not the bank's ``pdq_radius``: those settings are
about single images, and HMA applies the threatexchange defaults to every bank. A saved vPDQ
index whose thresholds differ from the current defaults is rebuilt, never silently matched
under the old ones. The allow-list keeps vPDQ values as a set (equality) and an index (a
re-encoded copy of an allowed video is the same false positive).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from childsafe.banks.base import Bank, BankEntry, BankStore
from childsafe.errors import HashFormatError, IndexError_
from childsafe.hashing.formats import canonical
from childsafe.matching._entry_meta import EntryMeta
from childsafe.matching.exact_index import ExactIndex
from childsafe.matching.pdq_index import PDQIndex, pack_hex
from childsafe.matching.vpdq_index import VPDQIndex
from childsafe.types import HashType

_BUILD_CHUNK = 1 << 20
MatchIndex = PDQIndex | ExactIndex | VPDQIndex
ENTRIES_DIR = "_entries"


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one ``Matcher.sync`` did to one bank.

    ``how`` is ``built`` (full read), ``loaded`` (from saved indexes, then caught up),
    ``caught_up`` (incremental) or ``current`` (nothing to do); ``note`` says why a saved
    index could not be used.
    """

    bank: str
    how: str
    from_version: int | None
    to_version: int
    added: int = 0
    removed: int = 0
    note: str = ""


def new_index(hash_type: str) -> MatchIndex | None:
    """An empty index for ``hash_type``; None for types no index matches."""
    if hash_type == HashType.PDQ:
        return PDQIndex()
    if hash_type == HashType.VPDQ:
        return VPDQIndex()
    try:
        return ExactIndex.for_type(hash_type)
    except ValueError:
        return None


def bank_dir(root: Path, name: str) -> Path:
    """A directory name for a bank that cannot escape ``root`` (``/``, ``..`` are quoted)."""
    safe = quote(name, safe="-_")
    return root / (safe.replace(".", "%2E") if safe.startswith(".") else safe)


class BankState:
    """Indexes, metadata, settings and allow-list of one bank at ``version``."""

    def __init__(self, bank: Bank) -> None:
        self.name = bank.name
        self.created_at = bank.created_at.isoformat()
        self.version = 0
        self.radius = bank.pdq_radius
        self.quality_floor = bank.pdq_quality_floor
        self.indexes: dict[str, MatchIndex] = {}
        self.meta = EntryMeta()
        self.allowed_exact: dict[str, frozenset[str]] = {}
        self.allowed_pdq: PDQIndex | None = None
        self.allowed_vpdq: VPDQIndex | None = None

    def _add(self, entries: list[BankEntry]) -> int:
        groups: dict[str, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
        kept = []
        for e in entries:
            if e.hash_type not in self.indexes:
                index = new_index(e.hash_type)
                if index is None:
                    continue
                self.indexes[e.hash_type] = index
            values, ids = groups[e.hash_type]
            values.append(e.value)
            ids.append(e.entry_id)
            kept.append(e)
        for hash_type, (values, ids) in groups.items():
            self.indexes[hash_type].add(values, ids)
        self.meta.upsert(kept)
        return len(kept)

    @classmethod
    def build(cls, store: BankStore, bank: Bank) -> BankState:
        """Read every live entry of the bank, a chunk at a time to bound memory."""
        state = cls(bank)
        # Read the version first: entries that change while we read are replayed later.
        state.version = bank.version
        chunk: list[BankEntry] = []
        for entry in store.iter_entries(bank.name):
            if not entry.deleted:
                chunk.append(entry)
            if len(chunk) >= _BUILD_CHUNK:
                state._add(chunk)
                chunk = []
        state._add(chunk)
        return state

    def catch_up(self, store: BankStore) -> tuple[int, int]:
        """Apply the bank's changes since ``version``; returns (added, removed) counts."""
        changes = store.changes_since(self.name, self.version)
        added = [e for e in changes.added if not e.deleted]
        again = np.fromiter((e.entry_id for e in changes.added), np.int64, len(changes.added))
        stale = set(changes.removed) | set(again[self.meta.contains(again)].tolist())
        if stale:
            ids = sorted(stale)
            for index in self.indexes.values():
                index.remove(ids)
            self.meta.discard(ids)
        self._add(added)
        self.version = changes.to_version
        return len(added), len(changes.removed)

    def refresh(self, bank: Bank, store: BankStore) -> None:
        """Take the bank's current radius, quality floor and allow-list."""
        self.radius, self.quality_floor = bank.pdq_radius, bank.pdq_quality_floor
        exact: dict[str, set[str]] = defaultdict(set)
        pdq: list[str] = []
        for allowed in store.allowed(bank.name):
            # Stores need not canonicalise allowed values; a malformed one equals no query
            # and must not stop matching (pack_hex would raise), so it is left out.
            if allowed.hash_type == HashType.PDQ:
                with contextlib.suppress(HashFormatError):
                    pdq.append(canonical(HashType.PDQ, allowed.value))
            elif allowed.hash_type == HashType.VPDQ:
                with contextlib.suppress(HashFormatError):
                    exact[allowed.hash_type].add(canonical(HashType.VPDQ, allowed.value))
            else:
                exact[allowed.hash_type].add(allowed.value.lower())
        self.allowed_exact = {k: frozenset(v) for k, v in exact.items()}
        self.allowed_pdq = None
        if pdq:
            self.allowed_pdq = PDQIndex()
            self.allowed_pdq.add_packed(pack_hex(pdq), np.arange(len(pdq)))
        videos = sorted(self.allowed_exact.get(HashType.VPDQ, ()))
        self.allowed_vpdq = VPDQIndex.build(videos, range(len(videos))) if videos else None

    def _extra(self) -> dict[str, object]:
        return {"bank": self.name, "bank_version": self.version, "bank_created_at": self.created_at}

    def save(self, directory: Path) -> None:
        """Save every index, then the metadata (last: it lists the saved hash types)."""
        for hash_type, index in self.indexes.items():
            index.save(directory / hash_type, extra=self._extra())
        extra = {**self._extra(), "hash_types": sorted(self.indexes)}
        self.meta.save(directory / ENTRIES_DIR, extra=extra)

    @classmethod
    def load(cls, directory: Path, bank: Bank) -> BankState:
        """Load what ``save`` wrote; ``IndexError_`` if it is missing, damaged or not usable."""
        state = cls(bank)
        state.meta = EntryMeta.load(directory / ENTRIES_DIR)
        types = state.meta.extra.get("hash_types")
        if not isinstance(types, list):
            raise IndexError_(f"{directory}: entry metadata lists no hash types")
        for hash_type in types:
            if new_index(str(hash_type)) is None:
                raise IndexError_(f"{directory}: unknown hash type {hash_type!r}")
            path = directory / str(hash_type)
            index = _load_index(path, str(hash_type))
            if index.hash_type != hash_type:
                raise IndexError_(f"{path}: holds {index.hash_type}, not {hash_type}")
            state.indexes[hash_type] = index
        parts = [state.meta.extra, *(index.extra for index in state.indexes.values())]
        versions = []
        for extra in parts:
            if extra.get("bank") != bank.name or extra.get("bank_created_at") != state.created_at:
                raise IndexError_(f"{directory}: saved for another bank (or one since recreated)")
            version = extra.get("bank_version")
            if not isinstance(version, int) or version > bank.version:
                raise IndexError_(
                    f"{directory}: saved at version {version!r}, bank is at {bank.version}"
                )
            versions.append(version)
        state.version = min(versions)
        return state


def _thresholds(index: VPDQIndex) -> tuple[float, ...]:
    return (
        index.pdq_radius,
        index.quality_floor,
        index.query_match_percent,
        index.compared_match_percent,
    )


def _load_index(path: Path, hash_type: str) -> MatchIndex:
    if hash_type == HashType.PDQ:
        return PDQIndex.load(path)
    if hash_type != HashType.VPDQ:
        return ExactIndex.load(path)
    index = VPDQIndex.load(path)
    if _thresholds(index) != _thresholds(VPDQIndex()):
        raise IndexError_(f"{path}: saved with other vpdq thresholds; rebuilding with the defaults")
    return index
