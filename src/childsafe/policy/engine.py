"""Apply one ``Rule`` of a policy document: matches, classifier results and errors in, an
``Outcome`` (allow / review / block, reasons, prevention message, case) out.

Triggers and the action each one takes:

=====================================  ==========================================
trigger                                action
=====================================  ==========================================
a bank match                           ``on_match``
a classifier result of priority HIGH   ``on_high_priority`` (else ``on_review``)
priority MEDIUM                        ``on_review``
priority LOW                           ``on_low_priority`` (else ``on_review``)
a check that could not run             ``on_error``
nothing                                allow
=====================================  ==========================================

Priority ``NONE`` triggers nothing, even with flagged labels: those flags are informational
(``text_risk``'s ``minor`` on a homework question) and stay in the scores, not the reasons.

When several triggers fire, the most severe outcome wins (block > review > allow); the
prevention message is that of the first firing action, in the table's order, whose outcome is
the winning one and which has a message; a case is opened if *any* firing action asks for
one, so an error alongside a match cannot lose the match's case. Reasons keep every trigger,
in the same stable vocabulary as ``DefaultPolicy`` (``match:<bank>:<hash_type>``,
``classifier:<name>:<label>``, ``error:<step>``), each once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from childsafe.classifiers.base import ClassifierResult, Priority
from childsafe.policy.document import Action, Rule
from childsafe.types import Match

SEVERITY = {"allow": 0, "review": 1, "block": 2}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decided, and which of its actions fired (``on_match``, ``on_error`` …)."""

    decision: str
    reasons: tuple[str, ...]
    message: str | None = None
    create_case: bool = False
    fired: tuple[str, ...] = ()


def _action_for(rule: Rule, priority: Priority) -> tuple[str, Action]:
    if priority >= Priority.HIGH:
        return ("on_high_priority" if rule.on_high_priority else "on_review"), rule.high
    if priority >= Priority.MEDIUM:
        return "on_review", rule.on_review
    return ("on_low_priority" if rule.on_low_priority else "on_review"), rule.low


def result_reasons(result: ClassifierResult) -> list[str]:
    """``classifier:<name>:<label>`` per flagged label; the priority when none is flagged
    (a rule can ask review below every threshold, e.g. ``image_risk``'s uncertain nudity)."""
    if result.flagged:
        return [f"classifier:{result.classifier}:{label}" for label in result.flagged]
    return [f"classifier:{result.classifier}:{result.priority.name.lower()}"]


def decide(
    rule: Rule,
    messages: Mapping[str, str],
    *,
    matches: Sequence[Match] = (),
    results: Sequence[ClassifierResult] = (),
    errors: Sequence[str] = (),
) -> Outcome:
    """The outcome of ``rule`` for one item; ``errors`` are step names (``hash:pdq``)."""
    fired: list[tuple[str, Action]] = []
    reasons: list[str] = []
    if matches:
        fired.append(("on_match", rule.on_match))
        reasons += [f"match:{m.bank}:{m.hash_type}" for m in matches]
    by_priority = sorted(
        (r for r in results if r.error is None and r.asks_review), key=lambda r: -r.priority
    )
    for result in by_priority:
        fired.append(_action_for(rule, result.priority))
        reasons += result_reasons(result)
    steps = list(errors) + [f"classify:{r.classifier}" for r in results if r.error is not None]
    if steps:
        fired.append(("on_error", rule.on_error))
        reasons += [f"error:{step}" for step in steps]
    if not fired:
        return Outcome("allow", ())
    decision = max((a.outcome for _, a in fired), key=SEVERITY.__getitem__)
    message = next(
        (messages.get(a.message) for _, a in fired if a.outcome == decision and a.message),
        None,
    )
    return Outcome(
        decision=decision,
        reasons=tuple(dict.fromkeys(reasons)),
        message=message,
        create_case=any(a.create_case for _, a in fired),
        fired=tuple(dict.fromkeys(name for name, _ in fired)),
    )
