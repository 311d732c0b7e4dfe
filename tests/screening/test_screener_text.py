"""Screening text with the real ``text_risk`` classifier under the built-in policy."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from tests.screening.samples import ADULT, BENIGN, RISKY, Request

from childsafe.config import Settings
from childsafe.errors import ScreenError
from childsafe.policy.document import DEFAULT_POLICY, PolicyDocument
from childsafe.screening.base import ContentKind, DecisionEntry, Source, Subject
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.policies import static_policy
from childsafe.screening.screener import Screener


def fields_of(entry: DecisionEntry) -> list[str]:
    """Every string the entry holds, recursively (keys too)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            out.append(value)

    walk(entry)
    return out


def test_risky_prompt_is_blocked_with_the_prevention_message(
    screener: Screener, log: MemoryDecisionLog, req: Request
) -> None:
    verdict = screener.screen(req("prompt", text=RISKY, subject=Subject(user_id="u1")))
    assert verdict.decision == "block"
    assert "classifier:text_risk:risk" in verdict.reasons
    assert verdict.message == DEFAULT_POLICY.messages["prevention"]
    assert verdict.create_case
    assert (verdict.policy.name, verdict.policy.version) == ("default", "1")
    assert verdict.content_sha256 == hashlib.sha256(RISKY.encode()).hexdigest()
    assert verdict.latency_ms > 0
    [entry] = log.list("default")
    assert (entry.request_id, entry.decision, entry.source) == (
        verdict.request_id,
        "block",
        Source.API,
    )
    assert entry.create_case and entry.subject.user_id == "u1"
    assert entry.score_summary["text_risk.risk"] >= 0.35


def test_benign_prompt_about_a_child_is_allowed(screener: Screener, req: Request) -> None:
    verdict = screener.screen(req("prompt", text=BENIGN))
    assert (verdict.decision, verdict.reasons, verdict.message) == ("allow", (), None)
    [score] = verdict.scores
    assert "minor" in score.flagged  # informational: kept in the scores, decides nothing


def test_adult_context_alone_is_allowed_but_said(screener: Screener, req: Request) -> None:
    verdict = screener.screen(req("caption", text=ADULT))
    assert verdict.decision == "allow"
    assert verdict.reasons == ("classifier:text_risk:sexual",)
    assert not verdict.create_case


def test_generated_text_uses_its_own_rule(screener: Screener, req: Request) -> None:
    verdict = screener.screen(req("generated_text", text=RISKY))
    assert verdict.decision == "block"
    assert verdict.message == DEFAULT_POLICY.messages["output_withheld"]


def test_the_log_never_holds_the_content(
    screener: Screener, log: MemoryDecisionLog, req: Request
) -> None:
    for kind in ("prompt", "caption", "generated_text"):
        for text in (RISKY, BENIGN):
            screener.screen(req(kind, text=text))
    entries = log.list("default")
    assert len(entries) == 6
    for entry in entries:
        for value in fields_of(entry):
            for text in (RISKY, BENIGN):
                assert text not in value
                for word in text.split():
                    if len(word) > 3:  # "nsfw", "picture", "homework" …
                        assert word not in value.split(":"), value
        assert repr(entry).count(RISKY) == 0


def test_the_same_request_id_is_logged_once(
    screener: Screener, log: MemoryDecisionLog, req: Request
) -> None:
    first = screener.screen(req("prompt", text=BENIGN, request_id="abc-1"))
    again = screener.screen(req("prompt", text=BENIGN, request_id="abc-1"))
    assert first.request_id == again.request_id == "abc-1"
    assert len(log.list("default")) == 1
    assert log.get("default", "abc-1") is not None
    assert log.get("other", "abc-1") is None


def test_long_text_is_screened_on_its_prefix_and_fails_closed(
    settings: Settings, log: MemoryDecisionLog, req: Request
) -> None:
    short = Screener(settings=settings.model_copy(update={"text_max_chars": 100}), decision_log=log)
    text = "a calm story about a lighthouse. " * 10
    verdict = short.screen(req("prompt", text=text))
    assert verdict.decision == "review"
    assert verdict.reasons == ("error:truncated",)
    assert verdict.error is not None and "only the first 100 were screened" in verdict.error
    assert verdict.content_sha256 == hashlib.sha256(text.encode()).hexdigest()  # whole text
    [score] = verdict.scores
    assert score.details["scored_chars"] == 100


def test_any_string_has_a_digest(screener: Screener, req: Request) -> None:
    verdict = screener.screen(req("prompt", text="lone surrogate \ud800 and NUL \x00 here"))
    assert verdict.decision == "allow"
    assert len(verdict.content_sha256) == 64


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"text": ""}, r"request r1: text is empty"),
        ({"text": " \n\t "}, r"request r1: text is empty"),
        ({}, r"request r1: kind prompt needs 'text'"),
        ({"text": "hi", "data": b"x"}, r"kind prompt takes 'text', not image bytes"),
        ({"text": "hi", "subject": Subject(user_id="u" * 300)}, r"subject.user_id is 300 char"),
        ({"text": "hi", "subject": Subject(sender="")}, r"subject.sender must be a non-empty"),
    ],
)
def test_unscreenable_requests_are_refused(
    screener: Screener, req: Request, fields: dict[str, Any], error: str
) -> None:
    with pytest.raises(ScreenError, match=error):
        screener.screen(req("prompt", request_id="r1", **fields))


def test_bad_ids_are_refused(screener: Screener, req: Request) -> None:
    with pytest.raises(ScreenError, match=r"tenant '\.\./etc': expected 1-64 lowercase"):
        screener.screen(req("prompt", tenant="../etc", text="hi"))
    with pytest.raises(ScreenError, match=r"request id 'a b': expected"):
        screener.screen(req("prompt", text="hi", request_id="a b"))


def test_a_kind_without_a_rule_is_refused(settings: Settings, req: Request) -> None:
    only_images = PolicyDocument.from_dict(
        {"name": "img", "version": "1", "rules": {"image": {"hashers": ["md5"]}}}
    )
    screener = Screener(settings=settings, policies_for=static_policy(only_images))
    with pytest.raises(ScreenError, match=r"policy 'img' v1 has no rule for kind 'prompt'"):
        screener.screen(req("prompt", text=BENIGN))


def test_a_classifier_that_cannot_be_built_fails_closed(
    settings: Settings, log: MemoryDecisionLog, req: Request
) -> None:
    broken = settings.model_copy(update={"thresholds": {"text_risk": {"no_such_label": 0.5}}})
    screener = Screener(settings=broken, decision_log=log)
    verdict = screener.screen(req("prompt", text=BENIGN))
    assert verdict.decision == "review"
    assert verdict.reasons == ("error:classify:text_risk",)
    assert verdict.error is not None and "unknown label 'no_such_label'" in verdict.error
    assert log.list("default")[0].decision == "review"


def test_policy_thresholds_reach_the_classifier(settings: Settings, req: Request) -> None:
    data = DEFAULT_POLICY.to_dict()
    data["rules"]["prompt"]["thresholds"] = {"text_risk": {"sexual": 1.0, "risk": 1.0}}
    strict = PolicyDocument.from_dict(data)
    screener = Screener(settings=settings, policies_for=static_policy(strict))
    verdict = screener.screen(req("prompt", text=ADULT))
    assert verdict.reasons == ()
    assert verdict.scores[0].thresholds["risk"] == 1.0


def test_a_failing_log_gives_no_verdict(settings: Settings, req: Request) -> None:
    class Down(MemoryDecisionLog):
        def record(self, entry: DecisionEntry) -> None:
            raise OSError("disk full")

    screener = Screener(settings=settings, decision_log=Down())
    with pytest.raises(OSError, match="disk full"):
        screener.screen(req("prompt", text=BENIGN))


def test_kinds_are_checked(screener: Screener, req: Request) -> None:
    request = dataclasses.replace(req("prompt", text="hi"), kind="video")  # type: ignore[arg-type]
    with pytest.raises(ScreenError, match=r"unknown kind 'video' \(known: prompt, caption"):
        screener.screen(request)
    with pytest.raises(ScreenError, match="screen_message takes kind 'message'"):
        screener.screen_message(req(ContentKind.PROMPT, text="hi"))


def test_warm_up_loads_everything_and_logs_nothing(
    screener: Screener, log: MemoryDecisionLog, settings: Settings
) -> None:
    assert screener.warm_up("default") == []
    assert len(log) == 0
    broken = settings.model_copy(update={"thresholds": {"image_risk": {"nope": 0.5}}})
    problems = Screener(settings=broken).warm_up("default", [ContentKind.GENERATED_IMAGE])
    assert len(problems) == 1 and "classifier 'image_risk' unavailable" in problems[0]


def test_concurrent_screening_agrees_with_sequential(
    screener: Screener, log: MemoryDecisionLog, req: Request
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [RISKY, BENIGN, ADULT, "a watercolour of a harbour"] * 5
    expected = [screener.screen(req("prompt", text=t)).decision for t in texts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: screener.screen(req("prompt", text=t)).decision, texts))
    assert got == expected
    assert len(log) == 2 * len(texts)
