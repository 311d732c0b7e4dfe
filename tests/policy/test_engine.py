"""The outcomes table: which trigger fires which action, and how several combine."""

from __future__ import annotations

from typing import Any

import pytest

from childsafe.classifiers.base import ClassifierResult, ModelInfo, Priority
from childsafe.policy.document import PolicyDocument, Rule
from childsafe.policy.engine import decide
from childsafe.types import Match

MODEL = ModelInfo("m", "1", "MIT")
MESSAGES = {"stop": "Stop text.", "held": "Held text.", "sorry": "Sorry text."}


def rule(**fields: Any) -> Rule:
    doc = PolicyDocument.from_dict(
        {"name": "t", "version": "1", "messages": MESSAGES, "rules": {"prompt": fields}}
    )
    return doc.rules["prompt"]


FULL = rule(
    on_match={"outcome": "block", "message": "stop", "create_case": True},
    on_high_priority={"outcome": "block", "message": "sorry", "create_case": True},
    on_review={"outcome": "review", "message": "held"},
    on_low_priority={"outcome": "allow"},
    on_error={"outcome": "review"},
)


def result(
    priority: Priority, flagged: tuple[str, ...] = ("risk",), error: str | None = None
) -> ClassifierResult:
    return ClassifierResult(
        "clf", MODEL, scores={"risk": 0.9}, flagged=flagged, priority=priority, error=error
    )


MATCH = Match("known", "pdq", "a" * 64, 3, 17)


def test_nothing_fires_allows() -> None:
    out = decide(FULL, MESSAGES)
    assert (out.decision, out.reasons, out.message, out.create_case) == ("allow", (), None, False)


def test_match_blocks_with_its_message_and_a_case() -> None:
    out = decide(FULL, MESSAGES, matches=[MATCH])
    assert (out.decision, out.message, out.create_case) == ("block", "Stop text.", True)
    assert out.reasons == ("match:known:pdq",)
    assert out.fired == ("on_match",)


@pytest.mark.parametrize(
    ("priority", "decision", "message", "case", "fired"),
    [
        (Priority.HIGH, "block", "Sorry text.", True, "on_high_priority"),
        (Priority.MEDIUM, "review", "Held text.", False, "on_review"),
        (Priority.LOW, "allow", None, False, "on_low_priority"),
    ],
)
def test_priority_picks_the_action(
    priority: Priority, decision: str, message: str | None, case: bool, fired: str
) -> None:
    out = decide(FULL, MESSAGES, results=[result(priority)])
    assert (out.decision, out.message, out.create_case, out.fired) == (
        decision,
        message,
        case,
        (fired,),
    )
    assert out.reasons == ("classifier:clf:risk",)


def test_high_and_low_fall_back_to_on_review() -> None:
    short = rule(on_review={"outcome": "review", "message": "held"})
    for priority in (Priority.HIGH, Priority.LOW):
        out = decide(short, MESSAGES, results=[result(priority)])
        assert (out.decision, out.message, out.fired) == ("review", "Held text.", ("on_review",))


def test_informational_flags_allow_without_reasons() -> None:
    out = decide(FULL, MESSAGES, results=[result(Priority.NONE, flagged=("minor",))])
    assert (out.decision, out.reasons) == ("allow", ())


def test_review_without_a_flagged_label_names_the_priority() -> None:
    out = decide(FULL, MESSAGES, results=[result(Priority.MEDIUM, flagged=())])
    assert out.reasons == ("classifier:clf:medium",)


def test_errors_fail_closed() -> None:
    out = decide(FULL, MESSAGES, errors=["hash:pdq"])
    assert (out.decision, out.reasons, out.fired) == ("review", ("error:hash:pdq",), ("on_error",))
    failed = decide(FULL, MESSAGES, results=[result(Priority.HIGH, error="model broke")])
    # An errored result's priority is not trusted; the error itself decides.
    assert (failed.decision, failed.reasons) == ("review", ("error:classify:clf",))


def test_on_error_can_fail_open_when_a_policy_says_so() -> None:
    lenient = rule(on_error={"outcome": "allow"})
    assert decide(lenient, MESSAGES, errors=["match"]).decision == "allow"


def test_most_severe_wins_and_every_reason_is_kept() -> None:
    out = decide(
        FULL,
        MESSAGES,
        matches=[MATCH, MATCH],
        results=[result(Priority.LOW), result(Priority.HIGH)],
        errors=["decode"],
    )
    assert out.decision == "block"
    assert out.message == "Stop text."  # the match's action comes first in the table
    assert out.create_case
    assert out.reasons == ("match:known:pdq", "classifier:clf:risk", "error:decode")
    assert out.fired == ("on_match", "on_high_priority", "on_low_priority", "on_error")


def test_a_case_is_opened_if_any_fired_action_asks() -> None:
    casey = rule(
        on_review={"outcome": "review"}, on_error={"outcome": "review", "create_case": True}
    )
    out = decide(casey, MESSAGES, results=[result(Priority.MEDIUM)], errors=["match"])
    assert (out.decision, out.create_case) == ("review", True)


def test_message_comes_from_an_action_with_the_winning_outcome() -> None:
    # Review (with a message) and block (without): the block wins, the review text is not shown.
    mixed = rule(
        on_match={"outcome": "block", "create_case": True},
        on_review={"outcome": "review", "message": "held"},
    )
    out = decide(mixed, MESSAGES, matches=[MATCH], results=[result(Priority.MEDIUM)])
    assert (out.decision, out.message) == ("block", None)
