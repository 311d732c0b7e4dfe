"""An in-memory ``DecisionLog`` for library users who run the guard without a database.

It keeps the same contract as the SQL log (idempotent on ``request_id`` + ``source``,
tenant-scoped reads, newest first) but not its durability: entries are lost when the process
ends. Use ``childsafe.storage``'s log wherever decisions must survive a restart. Memory is
bounded by ``max_entries``: the oldest entries go first and ``dropped`` counts them, so a
long-running process cannot grow without limit and the loss is visible.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from childsafe.screening.base import DecisionEntry, DecisionLog, Source


class MemoryDecisionLog(DecisionLog):
    """Thread-safe, bounded, in-memory decision log."""

    def __init__(self, max_entries: int | None = 100_000) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.dropped = 0
        self._entries: OrderedDict[tuple[str, str, Source], DecisionEntry] = OrderedDict()
        self._latest: dict[tuple[str, str], DecisionEntry] = {}  # (tenant, request id)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, entry: DecisionEntry) -> None:
        key = (entry.tenant, entry.request_id, entry.source)
        with self._lock:
            if key in self._entries:
                return  # idempotent: a retried request is one decision
            self._entries[key] = entry
            self._latest[key[:2]] = entry
            while self.max_entries is not None and len(self._entries) > self.max_entries:
                (tenant, rid, _), old = self._entries.popitem(last=False)
                if self._latest.get((tenant, rid)) is old:
                    del self._latest[(tenant, rid)]
                self.dropped += 1

    def list(
        self,
        tenant: str,
        *,
        since: datetime | None = None,
        decision: str | None = None,
        limit: int = 100,
    ) -> Sequence[DecisionEntry]:
        with self._lock:
            entries = list(self._entries.values())
        out: list[DecisionEntry] = []
        for entry in reversed(entries):
            if len(out) >= max(0, limit):
                break
            if entry.tenant != tenant:
                continue
            if since is not None and entry.created_at < since:
                continue
            if decision is not None and entry.decision != decision:
                continue
            out.append(entry)
        return out

    def get(self, tenant: str, request_id: str) -> DecisionEntry | None:
        """The latest entry recorded under that request id (a screening, or a report that
        reused its id)."""
        with self._lock:
            return self._latest.get((tenant, request_id))
