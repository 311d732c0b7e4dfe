"""One ``Matcher`` per tenant, kept warm and brought up to date at most every few seconds.

A tenant's banks are isolated: its matcher is built over the ``BankStore`` that
``banks_for(tenant)`` returns (a tenant-scoped view in the service), and its indexes are
saved under ``index_dir/<tenant>/`` so a restart loads instead of rebuilding. Syncing on every
request would cost a database round trip per bank per request; syncing never would serve
stale banks, so a matcher syncs when it is older than ``sync_interval_s`` (a newly imported
hash blocks within seconds) or when :meth:`TenantMatchers.sync` is called (the service does
after a bank import, so its own writes take effect at once).

A failure to reach the banks is an error of *this request* (the policy's ``on_error`` decides,
fail closed by default); the next request tries again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from childsafe.banks.base import BankStore
from childsafe.matching.matcher import Matcher, SyncResult
from childsafe.types import HashValue, Match


@dataclass(slots=True)
class MatchOutcome:
    """Matches of one item, plus problems (``errors`` are reason steps) and notes."""

    matches: list[Match] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    matcher: Matcher
    synced_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class TenantMatchers:
    """Per-tenant matchers over ``banks_for(tenant)``; see the module docstring."""

    def __init__(
        self,
        banks_for: Callable[[str], BankStore] | None,
        *,
        index_dir: Path | None = None,
        sync_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.banks_for = banks_for
        self.index_dir = index_dir
        self.sync_interval_s = sync_interval_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, tenant: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(tenant)
            if entry is None:
                assert self.banks_for is not None
                where = self.index_dir / tenant if self.index_dir is not None else None
                entry = self._entries[tenant] = _Entry(
                    Matcher(self.banks_for(tenant), index_dir=where)
                )
            return entry

    def sync(self, tenant: str) -> list[SyncResult]:
        """Bring the tenant's indexes up to its banks' current versions now."""
        return self._sync(self._entry(tenant), force=True)

    def _sync(self, entry: _Entry, *, force: bool) -> list[SyncResult]:
        with entry.lock:  # concurrent requests that find it stale wait for one sync
            if not force and self._clock() - entry.synced_at < self.sync_interval_s:
                return []
            results = entry.matcher.sync()
            entry.synced_at = self._clock()
        return results

    def match(
        self, tenant: str, hashes: Mapping[str, HashValue], banks: Sequence[str] | str
    ) -> MatchOutcome:
        """Matches of ``hashes`` in the tenant's ``banks`` (a list, or ``"all"``)."""
        out = MatchOutcome()
        if not hashes:
            return out
        if self.banks_for is None:
            if banks != "all":
                out.errors.append("match")
                out.problems.append("no bank store is configured, but the policy names banks")
            return out
        try:
            entry = self._entry(tenant)
            if self._clock() - entry.synced_at >= self.sync_interval_s:
                self._sync(entry, force=False)
            report = entry.matcher.explain(hashes)
            known = set(entry.matcher.banks)
        except Exception as exc:  # banks unreachable: this request is unchecked, not a crash
            out.errors.append("match")
            out.problems.append(f"cannot match against the banks of tenant {tenant!r}: {exc}")
            return out
        wanted = known if banks == "all" else set(banks)
        missing = sorted(wanted - known)
        if missing:
            out.errors.append("match")
            out.problems.append(f"tenant {tenant!r} has no bank named {', '.join(missing)}")
        out.matches = [m for m in report.matches if m.bank in wanted]
        if any(s.code == "low_quality" and s.bank in wanted for s in report.skipped):
            out.notes.append("pdq:low_quality")
        return out
