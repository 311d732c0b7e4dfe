"""A constructed case history for the actions and transparency tests.

``MemoryCases`` is the read side of a case store (``actions.base.CaseReader``) over
dataclass values, so the figures a test expects can be worked out by hand from the history
below. Hashes are made-up hex strings, never of any real file.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from childsafe.review.base import (
    Appeal,
    Case,
    CaseFilter,
    CaseItem,
    CasePriority,
    CaseState,
    Decision,
    DetectionSource,
    IndustryClass,
    Outcome,
    Subject,
    SubjectKind,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def hx(n: int, width: int) -> str:
    """A deterministic fake hex digest of ``width`` characters."""
    return (f"{n:02x}" * width)[:width]


def hashes(n: int) -> dict[str, str]:
    return {"md5": hx(n, 32), "sha256": hx(n, 64), "pdq": hx(n + 100, 64)}


@dataclass
class MemoryCases:
    cases: dict[int, Case] = field(default_factory=dict)
    item_map: dict[int, list[CaseItem]] = field(default_factory=dict)
    decision_map: dict[int, list[Decision]] = field(default_factory=dict)
    appeal_map: dict[int, list[Appeal]] = field(default_factory=dict)
    list_calls: int = 0

    def get(self, tenant: str, case_id: int) -> Case:
        case = self.cases[case_id]
        assert case.tenant == tenant
        return case

    def list(self, tenant: str, flt: CaseFilter | None = None) -> builtins.list[Case]:
        self.list_calls += 1
        flt = flt or CaseFilter()
        mine = [c for c in sorted(self.cases.values(), key=lambda c: c.id) if c.tenant == tenant]
        return mine[flt.offset : flt.offset + flt.limit]

    def items(self, tenant: str, case_id: int) -> builtins.list[CaseItem]:
        return list(self.item_map.get(case_id, []))

    def decisions(self, tenant: str, case_id: int) -> builtins.list[Decision]:
        return list(self.decision_map.get(case_id, []))

    def appeals(self, tenant: str, case_id: int) -> builtins.list[Appeal]:
        return list(self.appeal_map.get(case_id, []))

    # building ---------------------------------------------------------------------------

    def add_case(
        self,
        case_id: int,
        *,
        subject: Subject,
        state: CaseState,
        created: datetime,
        actioned: datetime | None = None,
        tenant: str = "default",
        updated: datetime | None = None,
    ) -> Case:
        case = Case(
            id=case_id,
            tenant=tenant,
            subject=subject,
            state=state,
            priority=CasePriority.KNOWN_HASH,
            created_at=created,
            updated_at=updated or actioned or created,
            due_at=created + timedelta(hours=1),
            assignee=None,
            sources=(),
            item_count=0,
            actioned_at=actioned,
        )
        self.cases[case_id] = case
        return case

    def add_item(
        self,
        case_id: int,
        item_id: int,
        *,
        source: DetectionSource,
        added: datetime,
        item_hashes: Mapping[str, str] | None = None,
    ) -> CaseItem:
        item = CaseItem(
            id=item_id,
            case_id=case_id,
            item_ref=f"upload-{item_id}",
            kind="image",
            source=source,
            priority=CasePriority.KNOWN_HASH,
            reasons=(),
            hashes=dict(item_hashes if item_hashes is not None else hashes(item_id)),
            matches=(),
            scores={},
            provenance={},
            generative_ai=False,
            added_at=added,
            occurred_at=None,
            evidence_id=None,
            file_viewed=False,
            exif_viewed=False,
        )
        self.item_map.setdefault(case_id, []).append(item)
        case = self.cases[case_id]
        srcs = case.sources if source in case.sources else (*case.sources, source)
        self.cases[case_id] = replace(case, sources=srcs, item_count=case.item_count + 1)
        return item

    def decide(
        self,
        case_id: int,
        decision_id: int,
        outcome: Outcome,
        at: datetime,
        *,
        item_id: int | None = None,
        industry_class: IndustryClass | None = IndustryClass.A2,
        reason_code: str = "csam_known",
    ) -> Decision:
        d = Decision(
            id=decision_id,
            case_id=case_id,
            item_id=item_id,
            reviewer="alice",
            outcome=outcome,
            reason_code=reason_code,
            industry_class=industry_class if outcome is Outcome.VIOLATION else None,
            generative_ai=False,
            second_review=False,
            note=None,
            at=at,
        )
        self.decision_map.setdefault(case_id, []).append(d)
        return d

    def appeal(
        self,
        case_id: int,
        appeal_id: int,
        filed: datetime,
        *,
        outcome: str | None = None,
        decided: datetime | None = None,
    ) -> Appeal:
        a = Appeal(
            id=appeal_id,
            case_id=case_id,
            filed_at=filed,
            filed_by="user",
            statement=None,
            outcome=outcome,
            decided_by="lead" if outcome else None,
            decided_at=decided,
        )
        self.appeal_map.setdefault(case_id, []).append(a)
        case = self.cases[case_id]
        latest = max(case.updated_at, decided or filed)
        self.cases[case_id] = replace(case, updated_at=latest)
        return a

    def set_state(self, case_id: int, state: CaseState) -> None:
        self.cases[case_id] = replace(self.cases[case_id], state=state)


def user(name: str) -> Subject:
    return Subject(SubjectKind.USER, name)


def upload(name: str) -> Subject:
    return Subject(SubjectKind.UPLOAD, name)
