"""Finished records to rows of the ``RESULTS`` schema (the slow, per-item path).

One row per record, always (DESIGN rule 4); content is never copied, only ids, hashes,
provenance and decisions (rule 2). A caption is represented by its SHA-256: the reader's
``caption_sha256`` when it hashed the raw bytes, else the SHA-256 of the UTF-8 text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from childsafe.classifiers.base import ClassifierResult
from childsafe.errors import ContentError
from childsafe.pipeline.base import Record
from childsafe.readers.base import Shard
from childsafe.scan.schema import HASH_COLUMNS, RESULTS
from childsafe.types import HashType


def _kind_and_size(record: Record) -> tuple[str | None, int | None]:
    item = record.item
    if not item.has_content:
        return ("hashes" if item.error is None else None), None
    try:
        return item.kind(), item.size()
    except ContentError:  # unreadable: the record already says why
        return None, None


def _scores(results: list[ClassifierResult]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in results:
        base = {"classifier": r.classifier, "model": r.model.name, "model_version": r.model.version}
        if not r.scores:
            out.append({**base, "label": None, "score": None, "threshold": None, "flagged": False})
        for label in sorted(r.scores):
            out.append(
                {
                    **base,
                    "label": label,
                    "score": r.scores[label],
                    "threshold": r.thresholds.get(label),
                    "flagged": label in r.flagged,
                }
            )
    return out


def caption_digest(text: str | None, extra: dict[str, str]) -> str | None:
    """The caption's SHA-256 as the reader computed it, or of its UTF-8 text."""
    if "caption_sha256" in extra:
        return extra["caption_sha256"]
    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def records_to_table(records: Iterable[Record], shard: Shard) -> pa.Table:
    """A ``RESULTS`` table with one row per record, in order."""
    cols: dict[str, list[Any]] = {name: [] for name in RESULTS.names}
    for r in records:
        item, prov = r.item, r.item.provenance
        extra = prov.extra if prov is not None else {}
        kind, size = _kind_and_size(r)
        pdq = r.hashes.get(HashType.PDQ)
        row: dict[str, Any] = {
            "item_id": item.id,
            "source": prov.source if prov is not None else shard.source,
            "shard": (prov.shard if prov is not None else None) or shard.shard_id,
            "member": prov.member if prov is not None else None,
            "row": prov.row if prov is not None else None,
            "url": prov.url if prov is not None else None,
            "caption_sha256": caption_digest(item.text, extra),
            "licence": extra.get("licence"),
            "crawl_date": extra.get("crawl_date"),
            "kind": kind,
            "bytes": size,
            "pdq_quality": pdq.quality if pdq is not None else None,
            "matches": [
                {
                    "bank": m.bank,
                    "hash_type": m.hash_type,
                    "value": m.value,
                    "distance": m.distance,
                    "entry_id": m.entry_id,
                    "label": m.label,
                }
                for m in r.matches
            ],
            "scores": _scores(r.scores),
            "decision": r.decision,
            "reasons": list(r.reasons),
            "error": r.error,
        }
        for name in HASH_COLUMNS:
            hv = r.hashes.get(name)
            row[name] = hv.value if hv is not None else None
        for name, value in row.items():
            cols[name].append(value)
    return pa.Table.from_pydict(cols, schema=RESULTS)
