"""The default policy: a known-hash match blocks, a classifier that asks for review gets one.

A classifier result asks for review when its ``priority`` is above ``NONE``; its flagged
labels become the reasons. Informational flags (``text_risk``'s ``minor`` alone: a caption
about a child's birthday) are kept in the scores but send nothing to review.

Precedence, highest first: **block** (a bank match is evidence, DESIGN rule 3) > **review**
(a classifier flag is triage for a human) > **error** (the item could not be fully checked,
so it is neither cleared nor condemned) > **allow**. Every reason is kept whatever wins: a
blocked item that also failed a hasher says both, so a reviewer sees the whole picture.

Reasons are stable strings counted in ``summary.json``: ``match:<bank>:<hash_type>``,
``classifier:<name>:<label>`` and ``error:<step>`` (``read``, ``hash``, ``classify``: the
step whose ``Record.fail`` message leads the error); each reason appears once per item, in order.
"""

from __future__ import annotations

from typing import ClassVar

from childsafe.classifiers.base import ClassifierResult
from childsafe.policy.base import Decision, Policy, Verdict
from childsafe.types import Match


def error_step(error: str) -> str:
    """The step that failed, from a ``Record.fail`` message (``"hash: ..."`` → ``hash``)."""
    head, sep, _ = error.partition(":")
    return head.strip() if sep and head.strip().isidentifier() else "unknown"


class DefaultPolicy(Policy):
    """Match → block, flagged label → review, error → error, otherwise allow."""

    name: ClassVar[str] = "default"
    version: ClassVar[str] = "1"

    def decide(
        self, matches: list[Match], scores: list[ClassifierResult], error: str | None
    ) -> Verdict:
        reasons = [f"match:{m.bank}:{m.hash_type}" for m in matches]
        flagged = [
            f"classifier:{s.classifier}:{label}"
            for s in scores
            if s.asks_review
            for label in s.flagged
        ]
        reasons += flagged
        if error is not None:
            reasons.append(f"error:{error_step(error)}")
        unique = tuple(dict.fromkeys(reasons))
        if matches:
            return Verdict(Decision.BLOCK, unique)
        if flagged:
            return Verdict(Decision.REVIEW, unique)
        if error is not None:
            return Verdict(Decision.ERROR, unique)
        return Verdict(Decision.ALLOW, unique)
