"""``HashStep``: the configured hashes of every item with content, through ``hashing.api``.

Items a reader could not read pass through without hashing; their precomputed hashes (a
table row whose other hash column was malformed) are still kept, so a known match among
them still blocks. Items with precomputed ``hashes`` (a LAION-style table) keep them,
canonicalised; a value
that is not a valid hash of its type is that item's error (it could not be checked), never
an exception. Blank values (an empty cell) mean "no hash" and are skipped, as the
hashes-only fast path does. Types with no hasher of their own are ignored.

A hasher that failed on content it should have handled (a corrupt JPEG for ``pdq``) makes the
record an error too: a clean manifest must not list an image nobody could compare
perceptually. The digests that *were* computed are still matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from childsafe.config import Settings
from childsafe.errors import HashFormatError
from childsafe.hashing.api import build_hashers, hash_file
from childsafe.hashing.formats import HEX_LENGTHS, canonical
from childsafe.pipeline.base import Record, Step
from childsafe.types import HashType, HashValue

KNOWN_TYPES = frozenset({*HEX_LENGTHS, HashType.VPDQ})
PDQ_QUALITY_KEY = "pdq_quality"  # precomputed PDQ quality travels in Item.hashes under this key


def precomputed(hashes: dict[str, str]) -> tuple[dict[str, HashValue], list[str]]:
    """Canonical ``HashValue`` of each non-blank known hash, and a message per bad one."""
    out: dict[str, HashValue] = {}
    bad: list[str] = []
    quality = _quality(hashes.get(PDQ_QUALITY_KEY))
    for hash_type in sorted(hashes):
        raw = hashes[hash_type]
        if hash_type not in KNOWN_TYPES or raw is None or not raw.strip():
            continue
        try:
            value = canonical(hash_type, raw)
        except HashFormatError as exc:
            bad.append(str(exc))
            continue
        q = quality if hash_type == HashType.PDQ else None
        out[hash_type] = HashValue(hash_type, value, q)
    return out, bad


def _quality(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None and raw.strip() else None
    except ValueError:
        return None


class HashStep(Step):
    """Computes ``hash_types`` for items with content; see the module docstring."""

    name: ClassVar[str] = "hash"

    def __init__(self, hash_types: Sequence[str], settings: Settings | None = None) -> None:
        self.hash_types = tuple(dict.fromkeys(hash_types))
        self.settings = settings

    def setup(self) -> None:
        if self.settings is None:
            self.settings = Settings()
        build_hashers(self.hash_types, self.settings)  # fail fast on an unknown type

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        self.setup()
        for record in records:
            try:
                self._hash(record)
            except Exception as exc:  # a bug costs one row, not the shard (rule 4)
                record.fail(self.name, f"unexpected {type(exc).__name__}: {exc}")
            yield record

    def _hash(self, record: Record) -> None:
        item = record.item
        if item.hashes:
            record.hashes, bad = precomputed(item.hashes)
            if bad:
                record.fail(self.name, "; ".join(bad))
        if not item.has_content or record.error is not None:
            return
        todo = [t for t in self.hash_types if t not in record.hashes]
        if not todo:
            return
        assert self.settings is not None
        fh = hash_file(item, todo, settings=self.settings)
        record.hashes.update(fh.hashes)
        if fh.error:
            record.fail(self.name, fh.error)
        elif fh.errors:
            record.fail(self.name, "; ".join(f"{k}: {v}" for k, v in sorted(fh.errors.items())))
