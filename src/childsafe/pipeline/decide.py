"""``DecideStep``: the policy's verdict on each record (default: ``DefaultPolicy``).

The policy's name and version are part of the scan's configuration fingerprint and of its
summary, so a result can always be traced to the rules that produced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from childsafe.pipeline.base import Record, Step
from childsafe.policy.base import Policy
from childsafe.policy.default import DefaultPolicy


class DecideStep(Step):
    """Sets ``decision`` and ``reasons`` on every record."""

    name: ClassVar[str] = "decide"

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or DefaultPolicy()

    @property
    def policy_version(self) -> str:
        """``<name>/<version>`` of the policy applied."""
        return f"{self.policy.name}/{self.policy.version}"

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            verdict = self.policy.decide(record.matches, record.scores, record.error)
            record.decision = verdict.decision.value
            record.reasons = list(verdict.reasons)
            yield record
