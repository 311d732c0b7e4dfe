"""Re-upload prevention: confirmed items' hashes go into the tenant's ``confirmed`` bank.

When a case is actioned, each item a reviewer confirmed (its latest decision, item-level or
whole-case, is a VIOLATION) contributes its md5/sha256/pdq hashes to a local bank, so the
matcher blocks the same file (or a near copy, for PDQ) the next time it is uploaded. Each
entry carries its provenance: ``source = "case:<id>"``, ``external_id = "decision:<id>"``,
``label`` = the industry classification (A1/A2/B1/B2) or the reason code.

Why only confirmed cases, never triage: a classifier score or an unreviewed user report is
not proof (DESIGN rule), and a bank entry blocks uploads without a human in the loop. A case
that waits for its second review is not confirmed yet and is refused.

Restoring (an appeal granted) tombstones the case's hashes, but only those no other
confirmed case still vouches for: two cases can confirm the same file, and restoring one
must not reopen the door for the other. The :class:`~childsafe.actions.base.HashLedger`
knows which case vouches for what. Both directions are idempotent and safe to rerun after a
crash: the ledger is written first, and applying already-present (or already-removed)
hashes to a bank changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from childsafe.actions.base import CaseReader, Contribution, HashLedger
from childsafe.banks.base import BankStore, ImportRecord
from childsafe.errors import ActionError, ChildsafeError
from childsafe.hashing.formats import canonical
from childsafe.review.base import (
    Case,
    CaseItem,
    CaseState,
    Decision,
    Outcome,
)

DEFAULT_BANK = "confirmed"
HASH_TYPES: tuple[str, ...] = ("md5", "sha256", "pdq")
CONFIRMED_STATES = frozenset({CaseState.ACTIONED, CaseState.APPEALED, CaseState.CLOSED})


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """What :meth:`ReuploadGuard.confirm` did: ``skipped`` names each item and problem."""

    case_id: int
    bank: str
    items: int  # confirmed items
    hashes: int  # hashes offered to the bank
    added: int  # new in the bank (the rest were there: another case, or a rerun)
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    case_id: int
    bank: str
    removed: int  # tombstoned in the bank
    kept: int  # still vouched for by another confirmed case


def confirmed_items(
    items: Sequence[CaseItem], decisions: Sequence[Decision]
) -> list[tuple[CaseItem, Decision]]:
    """Items whose latest applicable decision (their own, or a whole-case one) is a
    violation, with that decision. A later "no violation" on one item overrides an earlier
    whole-case violation for that item only."""
    ordered = sorted(decisions, key=lambda d: (d.at, d.id))
    out: list[tuple[CaseItem, Decision]] = []
    for item in items:
        relevant = [d for d in ordered if d.item_id in (None, item.id)]
        if relevant and relevant[-1].outcome is Outcome.VIOLATION:
            out.append((item, relevant[-1]))
    return out


def _label(d: Decision) -> str:
    return d.industry_class.value if d.industry_class is not None else d.reason_code


class ReuploadGuard:
    """Moves confirmed hashes into (and restored ones out of) a tenant's local bank."""

    def __init__(
        self,
        banks: BankStore,
        ledger: HashLedger,
        cases: CaseReader,
        *,
        bank: str = DEFAULT_BANK,
        hash_types: Sequence[str] = HASH_TYPES,
    ) -> None:
        self.banks = banks
        self.ledger = ledger
        self.cases = cases
        self.bank = bank
        self.hash_types = tuple(hash_types)

    def _bank_for(self, tenant: str) -> BankStore:
        store = self.banks.for_tenant(tenant)
        store.create_bank(
            self.bank,
            description="Hashes of items confirmed by review (re-upload prevention)",
            exist_ok=True,
        )
        return store

    def confirm(self, tenant: str, case_id: int, *, now: datetime | None = None) -> ConfirmResult:
        """Add the confirmed items' hashes of an actioned case to the bank."""
        case = self.cases.get(tenant, case_id)
        self._require(case, CONFIRMED_STATES, "confirm its hashes")
        pairs = confirmed_items(
            self.cases.items(tenant, case_id), self.cases.decisions(tenant, case_id)
        )
        when = now or datetime.now(UTC)
        contributions: list[Contribution] = []
        records: list[ImportRecord] = []
        skipped: list[str] = []
        seen: set[tuple[str, str]] = set()
        for item, decision in pairs:
            for hash_type in self.hash_types:
                raw = item.hashes.get(hash_type)
                if raw is None:
                    continue
                try:
                    value = canonical(hash_type, raw)
                except ChildsafeError as exc:
                    skipped.append(f"case {case_id} item {item.id}: {hash_type}: {exc}")
                    continue
                if (hash_type, value) in seen:
                    continue
                seen.add((hash_type, value))
                label = _label(decision)
                contributions.append(
                    Contribution(
                        tenant, self.bank, case_id, decision.id, hash_type, value, label, when
                    )
                )
                records.append(
                    ImportRecord(
                        hash_type=hash_type,
                        value=value,
                        label=label,
                        source=f"case:{case_id}",
                        external_id=f"decision:{decision.id}",
                    )
                )
        added = 0
        if records:
            self.ledger.record(contributions)  # first: a hash in the bank is always vouched
            result = self._bank_for(tenant).apply(self.bank, records, source=f"case:{case_id}")
            added = result.added
        return ConfirmResult(case_id, self.bank, len(pairs), len(records), added, tuple(skipped))

    def restore(self, tenant: str, case_id: int, *, now: datetime | None = None) -> RestoreResult:
        """Tombstone a restored case's hashes that no other confirmed case vouches for."""
        case = self.cases.get(tenant, case_id)
        self._require(case, frozenset({CaseState.RESTORED}), "remove its hashes")
        mine = {
            (k.hash_type, k.value)
            for k in self.ledger.for_case(tenant, case_id)
            if k.bank == self.bank
        }
        gone = self.ledger.release(tenant, self.bank, case_id, now=now or datetime.now(UTC))
        removed = 0
        if gone:
            records = [ImportRecord(t, v, deleted=True) for t, v in gone]
            result = self._bank_for(tenant).apply(
                self.bank, records, source=f"restore:case:{case_id}"
            )
            removed = result.removed
        return RestoreResult(case_id, self.bank, removed, len(mine) - len(gone))

    @staticmethod
    def _require(case: Case, states: frozenset[CaseState], what: str) -> None:
        if case.state not in states:
            allowed = ", ".join(sorted(s.value for s in states))
            raise ActionError(
                f"case {case.id} is {case.state.value}: only a case that is {allowed} may {what}"
            )
