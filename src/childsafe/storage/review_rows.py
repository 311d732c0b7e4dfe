"""Rows of the review tables as the review nouns, and findings as rows.

Viewed flags are computed here from ``reveals`` (one grouped query per batch of items),
never read from a column: no such column exists, so no code path can set one by mistake.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from childsafe.errors import ReviewError
from childsafe.review.base import (
    Appeal,
    Case,
    CaseItem,
    CasePriority,
    CaseState,
    Decision,
    DetectionSource,
    Finding,
    IndustryClass,
    Outcome,
    Reveal,
    Subject,
    SubjectKind,
)
from childsafe.storage._common import to_utc, utc
from childsafe.storage.models_review import reveals

MAX_SUBJECT_ID = 1000
MAX_REF = 1000
MAX_DEDUPE = 200
MAX_KIND = 32


def _ts(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def open_key(subject: Subject) -> str:
    """The unique key of a subject's open case (see ``models_review``)."""
    raw = f"{subject.kind.value}\x00{subject.id}".encode()
    return hashlib.sha256(raw).hexdigest()


def to_case(r: Row[Any]) -> Case:
    return Case(
        id=int(r.id),
        tenant=r.tenant,
        subject=Subject(SubjectKind(r.subject_kind), r.subject_id),
        state=CaseState(r.state),
        priority=CasePriority(r.priority),
        created_at=utc(r.created_at),
        updated_at=utc(r.updated_at),
        due_at=utc(r.due_at),
        assignee=r.assignee,
        sources=tuple(DetectionSource(s) for s in r.sources),
        item_count=int(r.item_count),
        first_decision_at=_ts(r.first_decision_at),
        actioned_at=_ts(r.actioned_at),
        closed_at=_ts(r.closed_at),
    )


def viewed(conn: Connection, item_ids: Iterable[int]) -> dict[int, set[str]]:
    """Per item id, what has been revealed of it by anyone ("file", "exif")."""
    ids = list(item_ids)
    out: dict[int, set[str]] = {i: set() for i in ids}
    c = reveals.c
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        q = select(c.item_id, c.what).where(c.item_id.in_(chunk)).group_by(c.item_id, c.what)
        for item_id, what in conn.execute(q):
            out[int(item_id)].add(what)
    return out


def to_items(conn: Connection, rows: Iterable[Row[Any]]) -> list[CaseItem]:
    rows = list(rows)
    seen = viewed(conn, (int(r.id) for r in rows))
    return [_item(r, seen[int(r.id)]) for r in rows]


def _item(r: Row[Any], seen: set[str]) -> CaseItem:
    scores = r.scores or {}
    return CaseItem(
        id=int(r.id),
        case_id=int(r.case_id),
        item_ref=r.item_ref,
        kind=r.kind,
        source=DetectionSource(r.source),
        priority=CasePriority(r.priority),
        reasons=tuple(r.reasons),
        hashes=dict(r.hashes),
        matches=tuple(r.matches),
        scores={k: v for k, v in scores.items() if v is not None},
        provenance=dict(r.provenance),
        generative_ai=bool(r.generative_ai),
        added_at=utc(r.added_at),
        occurred_at=_ts(r.occurred_at),
        evidence_id=r.evidence_id,
        file_viewed="file" in seen,
        exif_viewed="exif" in seen,
    )


def to_decision(r: Row[Any]) -> Decision:
    return Decision(
        id=int(r.id),
        case_id=int(r.case_id),
        item_id=int(r.item_id) if r.item_id is not None else None,
        reviewer=r.reviewer,
        outcome=Outcome(r.outcome),
        reason_code=r.reason_code,
        industry_class=IndustryClass(r.industry_class) if r.industry_class else None,
        generative_ai=bool(r.generative_ai),
        second_review=bool(r.second_review),
        note=r.note,
        at=utc(r.at),
    )


def to_reveal(r: Row[Any]) -> Reveal:
    return Reveal(int(r.id), int(r.item_id), r.reviewer, r.what, utc(r.at))


def to_appeal(r: Row[Any]) -> Appeal:
    return Appeal(
        id=int(r.id),
        case_id=int(r.case_id),
        filed_at=utc(r.filed_at),
        filed_by=r.filed_by,
        statement=r.statement,
        outcome=r.outcome,
        decided_by=r.decided_by,
        decided_at=_ts(r.decided_at),
    )


def _plain(value: Any) -> Any:
    """JSON that reads back as written: non-finite floats become null, odd types strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    return str(value)


def _text(name: str, value: object, limit: int, finding: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty) or len(value) > limit:
        raise ReviewError(f"finding {finding}: {name} must be 1-{limit} characters")
    if "\x00" in value:
        raise ReviewError(f"finding {finding}: {name} contains a NUL character")
    return value


def item_row(f: Finding) -> dict[str, Any]:
    """The ``case_items`` columns of a finding (without case, time and evidence)."""
    name = repr(f.item_ref)[:80]
    try:
        source, priority = DetectionSource(f.source), CasePriority(f.priority)
        SubjectKind(f.subject.kind)
    except ValueError as exc:
        raise ReviewError(f"finding {name}: {exc}") from None
    _text("item_ref", f.item_ref, MAX_REF, name)
    _text("kind", f.kind, MAX_KIND, name)
    _text("subject id", f.subject.id, MAX_SUBJECT_ID, name)
    if f.dedupe_key is not None:
        _text("dedupe_key", f.dedupe_key, MAX_DEDUPE, name)
    return {
        "dedupe_key": f.dedupe_key,
        "item_ref": f.item_ref,
        "kind": f.kind,
        "source": source.value,
        "priority": int(priority),
        "reasons": [str(r) for r in f.reasons],
        "hashes": {str(k): str(v) for k, v in f.hashes.items()},
        "matches": [str(m) for m in f.matches],
        "scores": _plain(dict(f.scores)),
        "provenance": _plain(dict(f.provenance)),
        "generative_ai": bool(f.generative_ai),
        "occurred_at": to_utc(f.occurred_at) if f.occurred_at is not None else None,
    }
