"""Chat messages (text rule + streaming conversation risk) and user reports."""

from __future__ import annotations

import hashlib

import pytest
from tests.screening.samples import RISKY, Request

from childsafe.config import Settings
from childsafe.errors import ScreenError
from childsafe.screening.base import ContentKind, Source, Subject
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.screener import Screener

# Mild, non-explicit grooming-stage lines (as in the scorer's own tests): age probing,
# isolation, secrecy. No single line is risky text; the *sequence* is.
GROOMING = [
    "hey good game",
    "you're so mature for your age",
    "how old are you",
    "are your parents home",
    "dont tell your parents about us",
    "add me on another app",
]
SMALL_TALK = [
    "hey good game",
    "thanks, you too",
    "want to play again tomorrow",
    "sure, after school",
    "cool see you then",
    "bye",
]


def chat(
    screener: Screener,
    req: Request,
    lines: list[str],
    tenant: str = "default",
    conversation: str = "c1",
    sender: str = "a",
    recipient: str = "b",
) -> list[str]:
    subject = Subject(conversation_id=conversation, sender=sender, recipient=recipient)
    return [
        screener.screen_message(req("message", tenant, text=line, subject=subject)).decision
        for line in lines
    ]


def test_a_grooming_sequence_reaches_review(screener: Screener, req: Request) -> None:
    decisions = chat(screener, req, GROOMING)
    assert decisions[0] == "allow"
    assert decisions[-1] in ("review", "block")
    assert chat(screener, req, SMALL_TALK, conversation="c2") == ["allow"] * len(SMALL_TALK)


def test_the_verdict_carries_the_pair_risk(screener: Screener, req: Request) -> None:
    subject = Subject(conversation_id="c1", sender="a", recipient="b")
    for line in GROOMING[:-1]:
        screener.screen(req("message", text=line, subject=subject))
    verdict = screener.screen(req("message", text=GROOMING[-1], subject=subject))
    names = [s.classifier for s in verdict.scores]
    assert names == ["text_risk", "conversation_risk"]
    conv = verdict.scores[1]
    assert conv.details["pair_messages"] == len(GROOMING)
    assert conv.asks_review
    assert "classifier:conversation_risk:risk" in verdict.reasons


def test_pairs_and_tenants_are_scored_apart(screener: Screener, req: Request) -> None:
    chat(screener, req, GROOMING[:-1])
    # The same last line from the other direction, and in another tenant, starts fresh.
    assert chat(screener, req, GROOMING[-1:], sender="b", recipient="a") == ["allow"]
    assert chat(screener, req, GROOMING[-1:], tenant="other") == ["allow"]
    assert chat(screener, req, GROOMING[-1:]) != ["allow"]


def test_ending_a_conversation_forgets_it(screener: Screener, req: Request) -> None:
    chat(screener, req, GROOMING[:-1])
    assert screener.end_conversation("default", "c1") == 1
    assert chat(screener, req, GROOMING[-1:]) == ["allow"]


def test_old_conversations_are_evicted(settings: Settings, req: Request) -> None:
    screener = Screener(settings=settings, max_conversations=1)
    chat(screener, req, GROOMING[:-1], conversation="old")
    chat(screener, req, ["hi"], conversation="new")  # pushes "old" out
    assert chat(screener, req, GROOMING[-1:], conversation="old") == ["allow"]


def test_risky_text_in_a_message_is_blocked_at_once(screener: Screener, req: Request) -> None:
    subject = Subject(conversation_id="c9", sender="a")
    verdict = screener.screen_message(req("message", text=RISKY, subject=subject))
    assert verdict.decision == "block"
    assert verdict.message is not None and "Stop It Now" in verdict.message


def test_a_message_needs_its_conversation(screener: Screener, req: Request) -> None:
    with pytest.raises(ScreenError, match=r"needs subject.conversation_id and subject.sender"):
        screener.screen_message(req("message", text="hi", subject=Subject(sender="a")))


def test_user_report_is_logged_as_a_review_with_a_case(
    screener: Screener, log: MemoryDecisionLog
) -> None:
    sha = hashlib.sha256(b"reported content").hexdigest().upper()
    entry = screener.user_report(
        "default", Subject(user_id="reporter-7", content_id="post-1"), "csam", sha,
        kind=ContentKind.IMAGE, request_id="report-1",
    )  # fmt: skip
    assert (entry.decision, entry.source, entry.create_case) == ("review", Source.USER_REPORT, True)
    assert entry.reasons == ("user_report:csam",) and entry.note == "csam"
    assert entry.content_sha256 == sha.lower()
    assert log.get("default", "report-1") == entry
    assert (entry.policy.name, entry.policy.version) == ("default", "1")
    about_a_user = screener.user_report("default", Subject(user_id="u3"), "grooming")
    assert about_a_user.content_sha256 == "none"  # no hash given: said in plain text


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("default", "he touched my post!!"), r"expected 1-64 lowercase .* \(a code, not free"),
        (("default", "csam", "abc"), r"content_sha256: expected 64 hexadecimal"),
        (("Bad Tenant", "csam"), r"tenant 'Bad Tenant'"),
    ],
)
def test_user_report_input_is_checked(
    screener: Screener, args: tuple[str, ...], error: str
) -> None:
    tenant, *rest = args
    with pytest.raises(ScreenError, match=error):
        screener.user_report(tenant, Subject(), *rest)  # type: ignore[arg-type]
