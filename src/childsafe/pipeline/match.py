"""``MatchStep``: each record's hashes against the banks, a batch per kernel pass.

The matcher is a read-only snapshot (``matching.snapshot``) loaded lazily on the worker:
the step itself pickles as a path, and workers never touch the database. Records with no
hashes (a reader error, an empty file) pass through with no matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from childsafe.matching.snapshot import FrozenMatcher, MatcherSnapshot
from childsafe.pipeline.base import Record, Step
from childsafe.pipeline.chain import BATCH, batched


class MatchStep(Step):
    """Matches ``record.hashes`` against the snapshot saved at ``snapshot_dir``."""

    name: ClassVar[str] = "match"

    def __init__(self, snapshot_dir: str | Path, batch_size: int = BATCH) -> None:
        self.snapshot_dir = str(snapshot_dir)
        self.batch_size = batch_size
        self._matcher: FrozenMatcher | None = None

    def __getstate__(self) -> dict[str, object]:
        # Ship the path, never the loaded indexes: each worker memory-maps its own view.
        return {"snapshot_dir": self.snapshot_dir, "batch_size": self.batch_size}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.snapshot_dir = str(state["snapshot_dir"])
        self.batch_size = int(state["batch_size"])  # type: ignore[call-overload]
        self._matcher = None

    @property
    def matcher(self) -> FrozenMatcher:
        """The loaded snapshot (loading it on first use)."""
        if self._matcher is None:
            self._matcher = MatcherSnapshot.load(Path(self.snapshot_dir))
        return self._matcher

    def setup(self) -> None:
        _ = self.matcher

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        for batch in batched(records, self.batch_size):
            asked = [r for r in batch if r.hashes]
            if asked:
                found = self.matcher.match_many([r.hashes for r in asked])
                for record, matches in zip(asked, found, strict=True):
                    record.matches = matches
            yield from batch
