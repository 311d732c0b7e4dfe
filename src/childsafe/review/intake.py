"""Findings from everything that can open a case: pure functions, no storage.

Each builder returns a :class:`~childsafe.review.base.Finding` with a ``dedupe_key``, so the
same source row fed twice (a rerun, a retried job) lands on the same case item.

Priority (lower is more urgent), the minimum of what applies:

1. a match against a confirmed hash list (``confirmed``: the bank names that count; None
   means every bank, since a bank holds known material by construction);
2. a classifier with a minor signal: a score key or a reason naming ``minor``, ``face_age``
   or ``text_risk``, with a positive score (a key that is present with score 0 says the
   classifier ran, not that it saw anything);
3. any other classifier (and a match on a list that is not confirmed);
4. a user report or a hotline notice.

Triage is not proof: a priority only orders the queue; nothing here decides anything.
Findings carry ids, hashes and provenance, never content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from childsafe.errors import ReviewError
from childsafe.review.base import CasePriority, DetectionSource, Finding, Subject, SubjectKind
from childsafe.screening.base import ContentKind, DecisionEntry, Source

MINOR_SIGNALS = ("minor", "face_age", "text_risk")
_GENERATED = {ContentKind.GENERATED_IMAGE, ContentKind.GENERATED_TEXT}
_IMAGES = {ContentKind.IMAGE, ContentKind.GENERATED_IMAGE}
_HASH_KEYS = ("md5", "sha1", "sha256", "pdq", "video_md5", "vpdq")


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _key(prefix: str, *parts: str) -> str:
    """A dedupe key of bounded length whatever the parts are (paths, URLs, Unicode)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()[:40]
    return f"{prefix}:{digest}"


def _bank(match: str) -> str:
    return match.split(":", 1)[0]


def minor_signal(scores: Mapping[str, float], reasons: Sequence[str] = ()) -> bool:
    """A positive score, or a reason, that names one of :data:`MINOR_SIGNALS`."""
    keys = [k for k, v in scores.items() if isinstance(v, int | float) and v > 0]
    return any(s in k.lower() for k in [*keys, *reasons] for s in MINOR_SIGNALS)


def priority_for(
    *,
    matches: Sequence[str] = (),
    scores: Mapping[str, float] | None = None,
    reasons: Sequence[str] = (),
    report: bool = False,
    confirmed: Collection[str] | None = None,
) -> CasePriority:
    """The priority rules of the module docstring; ``matches`` are ``bank:...`` strings."""
    scores = scores or {}
    classifier_reasons = [r for r in reasons if r.startswith("classifier:")]
    if any(confirmed is None or _bank(m) in confirmed for m in matches):
        return CasePriority.KNOWN_HASH
    if minor_signal(scores, classifier_reasons):
        return CasePriority.CLASSIFIER_MINOR
    if matches or scores or classifier_reasons or not report:
        return CasePriority.CLASSIFIER
    return CasePriority.USER_REPORT


def _subject(entry: DecisionEntry) -> Subject:
    s = entry.subject
    if s.user_id or s.sender:
        return Subject(SubjectKind.USER, str(s.user_id or s.sender))
    if s.conversation_id:
        return Subject(SubjectKind.CONVERSATION, s.conversation_id)
    return Subject(SubjectKind.UPLOAD, s.content_id or entry.request_id)


def from_decision(entry: DecisionEntry, *, confirmed: Collection[str] | None = None) -> Finding:
    """A finding from a decision-log entry that asked for a case (``create_case``)."""
    if not entry.create_case:
        raise ReviewError(f"decision {entry.request_id!r} did not ask for a case")
    report = entry.source == Source.USER_REPORT
    matches = tuple(entry.match_summary)
    if report:
        source = DetectionSource.USER_REPORT
    elif matches:
        source = DetectionSource.HASH
    else:
        source = DetectionSource.CLASSIFIER
    kind = ContentKind(entry.kind)
    # A user report without content says "none" where the hash would be: not a hash.
    known = entry.content_sha256 if _SHA256.fullmatch(entry.content_sha256 or "") else None
    hashes = ({"sha256": known} if known else {}) | ({"pdq": entry.pdq} if entry.pdq else {})
    subject = {k: v for k, v in vars_of(entry.subject).items() if v is not None}
    return Finding(
        tenant=entry.tenant,
        subject=_subject(entry),
        source=source,
        priority=priority_for(
            matches=matches,
            scores=entry.score_summary,
            reasons=entry.reasons,
            report=report,
            confirmed=confirmed,
        ),
        item_ref=entry.request_id,
        kind="image" if kind in _IMAGES else "text",
        reasons=tuple(entry.reasons) + ((f"report:{entry.note}",) if report and entry.note else ()),
        hashes=hashes,
        matches=matches,
        scores=dict(entry.score_summary),
        provenance={
            "request_id": entry.request_id,
            "decision_source": str(entry.source),
            "content_kind": kind.value,
            "decision": entry.decision,
            "policy": f"{entry.policy.name}@{entry.policy.version}",
            "subject": subject,
        },
        generative_ai=kind in _GENERATED,
        occurred_at=entry.created_at,
        dedupe_key=f"decision:{entry.source}:{entry.request_id}"[:200],
    )


def vars_of(obj: Any) -> dict[str, Any]:
    """The fields of a slotted dataclass as a dict."""
    return {name: getattr(obj, name) for name in obj.__slots__}


def _scan_matches(row: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for m in row.get("matches") or ():
        if isinstance(m, Mapping):
            parts = (m.get("bank"), m.get("hash_type"), m.get("entry_id"), m.get("distance"))
            out.append(":".join("" if p is None else str(p) for p in parts))
        else:
            out.append(str(m))
    return tuple(out)


def from_scan_row(
    row: Mapping[str, Any],
    *,
    tenant: str,
    confirmed: Collection[str] | None = None,
    occurred_at: datetime | None = None,
) -> Finding:
    """A finding from a dataset scan's ``quarantine.parquet`` (or ``results``) row.

    The subject is the dataset (the row's ``source``), so a scan's findings form one case
    per dataset; each row is an item keyed by (source, item_id). Matches come from the
    ``matches`` column when present, else from ``match:<bank>:<hash_type>`` reasons.
    """
    item_id, source = row.get("item_id"), row.get("source")
    if not item_id or not source:
        raise ReviewError(f"scan row {dict(row).get('item_id')!r}: item_id and source are needed")
    reasons = tuple(str(r) for r in (row.get("reasons") or ()))
    matches = _scan_matches(row) or tuple(
        r.removeprefix("match:") for r in reasons if r.startswith("match:")
    )
    scores: dict[str, float] = {}
    for s in row.get("scores") or ():
        if isinstance(s, Mapping) and s.get("score") is not None:
            scores[f"{s.get('classifier')}.{s.get('label')}"] = float(s["score"])
    kind = str(row.get("kind") or "dataset_item")
    provenance = {
        k: row[k]
        for k in ("source", "shard", "member", "row", "url", "caption_sha256", "decision")
        if row.get(k) is not None
    }
    return Finding(
        tenant=tenant,
        subject=Subject(SubjectKind.DATASET, str(source)),
        source=DetectionSource.DATASET_SCAN,
        priority=priority_for(matches=matches, scores=scores, reasons=reasons, confirmed=confirmed),
        item_ref=str(item_id),
        kind=kind if kind in ("image", "video") else "dataset_item",
        reasons=reasons,
        hashes={k: str(row[k]) for k in _HASH_KEYS if row.get(k)},
        matches=matches,
        scores=scores,
        provenance=provenance,
        occurred_at=occurred_at,
        dedupe_key=_key("scan", str(source), str(item_id)),
    )


def from_user_report(
    tenant: str,
    subject: Subject,
    item_ref: str,
    *,
    kind: str,
    reason: str,
    hotline: bool = False,
    reporter: str | None = None,
    hashes: Mapping[str, str] | None = None,
    occurred_at: datetime | None = None,
) -> Finding:
    """A user's report or a hotline's notice about ``item_ref`` (``reason``: a code)."""
    source = DetectionSource.HOTLINE_NOTICE if hotline else DetectionSource.USER_REPORT
    prov: dict[str, Any] = {"reporter": reporter} if reporter else {}
    return Finding(
        tenant=tenant,
        subject=subject,
        source=source,
        priority=CasePriority.USER_REPORT,
        item_ref=item_ref,
        kind=kind,
        reasons=(f"report:{reason}",),
        hashes=dict(hashes or {}),
        provenance=prov,
        occurred_at=occurred_at,
        dedupe_key=_key(source.value, item_ref, reporter or "", reason),
    )


def from_hash_match(
    tenant: str,
    subject: Subject,
    item_ref: str,
    *,
    kind: str,
    hashes: Mapping[str, str],
    matches: Sequence[str],
    confirmed: Collection[str] | None = None,
    occurred_at: datetime | None = None,
) -> Finding:
    """A match of an item's hashes against banks (``matches``: ``bank:type:entry:distance``)."""
    if not matches:
        raise ReviewError(f"hash match for {item_ref!r}: no matches given")
    return Finding(
        tenant=tenant,
        subject=subject,
        source=DetectionSource.HASH,
        priority=priority_for(matches=matches, confirmed=confirmed),
        item_ref=item_ref,
        kind=kind,
        reasons=tuple(dict.fromkeys(f"match:{':'.join(m.split(':')[:2])}" for m in matches)),
        hashes=dict(hashes),
        matches=tuple(matches),
        occurred_at=occurred_at,
        dedupe_key=_key("hash", item_ref, *sorted(matches)),
    )


def from_model_scan(finding: Mapping[str, Any], *, tenant: str) -> Finding:
    """A hosted-model scanner finding (``ModelResult.to_finding()``): one item per model file."""
    model_id, path = finding.get("model_id"), finding.get("path")
    if not model_id or not path:
        raise ReviewError(f"model finding {finding.get('model_id')!r}: model_id and path needed")
    scores = {str(k): float(v) for k, v in (finding.get("scores") or {}).items()}
    reasons = tuple(str(r) for r in finding.get("reasons") or ())
    high = finding.get("severity") == "high"
    minor = minor_signal(scores) or any("minor" in str(r) for r in finding.get("rules") or ())
    priority = CasePriority.CLASSIFIER_MINOR if (minor or high) else CasePriority.CLASSIFIER
    key = finding.get("dedupe_key") or f"model_scan:{model_id}:{finding.get('sha256') or path}"
    return Finding(
        tenant=tenant,
        subject=Subject(SubjectKind.MODEL, str(model_id)),
        source=DetectionSource.MODEL_SCAN,
        priority=priority,
        item_ref=str(path),
        kind="model",
        reasons=reasons,
        hashes={"sha256": str(finding["sha256"])} if finding.get("sha256") else {},
        scores=scores,
        provenance={
            "severity": finding.get("severity"),
            "rules": list(finding.get("rules") or ()),
        },
        dedupe_key=str(key) if len(str(key)) <= 200 else _key("model_scan", str(key)),
    )
