"""``ScanConfig``: everything that decides a scan's results, and its fingerprint.

The fingerprint is a SHA-256 over the fields that change what a row says (sources, banks,
hash types, classifiers and their thresholds, policy, reader options, hashing limits and the
output options). It is stored in ``out/scan.json``; ``--resume`` refuses a directory whose
fingerprint differs, because merging parts made under two configurations would give a
results file that no single configuration produced. Where the work runs (executor, workers,
address) and ``resume`` itself are left out: they never change a row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from childsafe.classifiers.base import Classifier
from childsafe.config import Settings
from childsafe.policy.base import Policy
from childsafe.policy.default import DefaultPolicy

# Computed whatever the banks hold: md5 and sha256 identify rows in removal lists, pdq is
# the perceptual match most lists carry. Types a bank holds (sha1, video_md5, vpdq) are added.
BASE_HASH_TYPES: tuple[str, ...] = ("md5", "sha256", "pdq")
ORDER: tuple[str, ...] = ("md5", "sha1", "sha256", "pdq", "video_md5", "vpdq")


@dataclass(slots=True)
class ScanConfig:
    """One scan: what to read, what to match against, how to decide, where to write.

    ``banks`` empty means every bank in the store. ``hash_types`` None means
    :data:`BASE_HASH_TYPES` plus the types the banks hold. ``shard_options`` go to
    ``reader_for`` (``shard_size``, table columns). ``decoy_ratio`` and ``seed`` shape the
    removal list and ``write_clean`` asks for a clean manifest (see ``scan.outputs``).
    """

    sources: list[str]
    out: Path
    banks: list[str] = field(default_factory=list)
    hash_types: tuple[str, ...] | None = None
    classifiers: list[Classifier] = field(default_factory=list)
    policy: Policy = field(default_factory=DefaultPolicy)
    executor: str = "local"
    workers: int | None = None
    address: str | None = None
    resume: bool = False
    shard_options: dict[str, Any] = field(default_factory=dict)
    decoy_ratio: float = 1.0
    seed: int = 0
    write_clean: bool = False
    settings: Settings | None = None
    index_dir: Path | None = None  # where the live Matcher keeps its saved indexes

    def describe(self) -> dict[str, Any]:
        """The result-deciding part of the configuration, as JSON-ready values."""
        settings = self.settings or Settings()
        return {
            "sources": [_source_key(s) for s in self.sources],
            "banks": sorted(self.banks),
            "hash_types": list(self.hash_types) if self.hash_types is not None else "auto",
            "classifiers": [
                {
                    "name": c.name,
                    "model": c.model.name,
                    "model_version": c.model.version,
                    "thresholds": dict(sorted(c.thresholds.items())),
                }
                for c in self.classifiers
            ],
            "policy": f"{self.policy.name}/{self.policy.version}",
            "shard_options": {k: _jsonable(v) for k, v in sorted(self.shard_options.items())},
            "decoy_ratio": self.decoy_ratio,
            "seed": self.seed,
            "write_clean": self.write_clean,
            "max_image_pixels": settings.max_image_pixels,
            "max_file_bytes": settings.max_file_bytes,
        }

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`describe` (canonical JSON)."""
        text = json.dumps(self.describe(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def resolve_hash_types(self, held: frozenset[str]) -> tuple[str, ...]:
        """The hash types to compute, given those the banks hold."""
        if self.hash_types is not None:
            return tuple(dict.fromkeys(self.hash_types))
        wanted = set(BASE_HASH_TYPES) | held
        return tuple(t for t in ORDER if t in wanted)


def _source_key(source: str) -> str:
    """Absolute where it names a path, so a resume from another directory still matches."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value
