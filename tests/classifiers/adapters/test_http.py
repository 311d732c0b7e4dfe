"""The shared HTTP behaviour (retries, backoff, Retry-After, timeouts, secrecy, concurrency).

Driven through the OpenAI adapter and its fake, since that is how it runs; what is asserted is
the behaviour every adapter shares through ``_http``.
"""

from __future__ import annotations

import json
import logging
import pickle
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from tests.classifiers.adapters.conftest import (
    BENIGN_TEXT,
    KEY,
    RISK_TEXT,
    Sleeps,
    image_item,
    text_item,
)
from tests.fakes.openai_moderation import FakeOpenAIModeration

from childsafe.classifiers.adapters._http import RetryPolicy, Secret, public_url, retry_after
from childsafe.classifiers.adapters.openai import OpenAIModerationClassifier


def _texts(n: int = 2) -> list:
    return [text_item(f"t{i}", RISK_TEXT if i == 0 else BENIGN_TEXT) for i in range(n)]


def test_503s_then_success_retries_with_jittered_backoff(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    openai_fake.fail_next(503, 2)
    results = OpenAIModerationClassifier(retry=fast_retry).classify(_texts())
    assert [r.error for r in results] == [None, None]
    assert results[0].flagged == ("sexual_minors", "sexual")
    assert len(openai_fake.requests) == 3
    assert 0.0005 <= sleeps[0] <= 0.001 and 0.001 <= sleeps[1] <= 0.002  # 0.5-1 x 2**n base


def test_429_honours_retry_after_exactly(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    openai_fake.fail_next(429, retry_after="2")
    [r] = OpenAIModerationClassifier(retry=fast_retry).classify(_texts(1))
    assert r.error is None and sleeps == [2.0]


def test_retry_after_longer_than_the_limit_is_not_waited_for(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    openai_fake.fail_next(429, retry_after="3600")
    [r] = OpenAIModerationClassifier(retry=fast_retry).classify(_texts(1))
    assert r.error is not None and "HTTP 429" in r.error
    assert "asks to wait 3600 s, more than the 5 s" in r.error
    assert sleeps == [] and len(openai_fake.requests) == 1


def test_gives_up_after_the_attempts_with_a_per_item_error(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy
) -> None:
    openai_fake.fail_next(500, 10)
    items = [*_texts(3), image_item("white")]
    results = OpenAIModerationClassifier(retry=fast_retry).classify(items)
    for item, r in zip(items, results, strict=True):
        assert r.error == (
            f"openai_moderation: {item.id}: HTTP 500 from {openai_fake.base_url}/moderations: "
            "Internal Server Error: fake error 500 (gave up after 3 attempts)"
        )
        assert r.scores == {} and r.flagged == ()
    assert len(openai_fake.requests) == 6  # one text batch + one image, 3 tries each


def test_401_is_a_per_item_error_that_never_shows_the_key(
    openai_fake: FakeOpenAIModeration,
    fast_retry: RetryPolicy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "sk-wrong-key-that-must-stay-hidden"
    clf = OpenAIModerationClassifier(api_key=wrong, retry=fast_retry)
    caplog.set_level(logging.DEBUG)
    results = clf.classify([*_texts(2), image_item("white")])
    for r in results:
        assert r.error is not None
        assert r.error.endswith(
            f"HTTP 401 from {openai_fake.base_url}/moderations: "
            "invalid API key (rejected by the server)"
        )
    assert len(openai_fake.requests) == 2  # no retries on 401
    seen = " ".join([repr(clf), str(clf), caplog.text, *(json.dumps(r.to_dict()) for r in results)])
    assert wrong not in seen and KEY not in seen
    assert "api_key='***'" in repr(clf)


def test_key_is_scrubbed_from_vendor_messages(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy
) -> None:
    body = {"error": {"message": f"quota exceeded for key {KEY}", "type": "x"}}
    openai_fake.fail_next(400, body=body)
    [r] = OpenAIModerationClassifier(retry=fast_retry).classify(_texts(1))
    assert r.error is not None and r.error.endswith("quota exceeded for key ***")


def test_timeout_is_a_quick_per_item_error_without_retry(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy
) -> None:
    openai_fake.delay_s = 5
    clf = OpenAIModerationClassifier(retry=fast_retry, timeout_s=0.2)
    t0 = time.perf_counter()
    results = clf.classify(_texts(2))
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    for r in results:
        assert r.error is not None
        assert r.error.endswith(
            f"no answer from {openai_fake.base_url}/moderations within 0.2 s (timed out)"
        )
    assert len(openai_fake.requests) == 1


def test_connection_refused_is_retried_then_reported(
    fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clf = OpenAIModerationClassifier(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", retry=fast_retry
    )
    [r] = clf.classify(_texts(1))
    assert r.error is not None
    assert f"cannot reach http://127.0.0.1:{port}/v1/moderations" in r.error
    assert r.error.endswith("(gave up after 3 attempts)") and len(sleeps) == 2


def test_413_is_not_retried(openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy) -> None:
    openai_fake.max_body_bytes = 1000
    [r] = OpenAIModerationClassifier(retry=fast_retry).classify([image_item("white", (400, 400))])
    assert r.error is not None and "HTTP 413" in r.error and "request too large" in r.error
    assert len(openai_fake.requests) == 0  # refused before the body was recorded


def test_redirects_are_not_followed(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy
) -> None:
    openai_fake.fail_next(302, body={}, headers={"Location": "https://elsewhere.example/x?k=1"})
    [r] = OpenAIModerationClassifier(retry=fast_retry).classify(_texts(1))
    assert r.error is not None
    assert r.error.endswith("unexpected redirect to https://elsewhere.example/x (not followed)")


def test_malformed_success_bodies_are_per_item_errors(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy
) -> None:
    clf = OpenAIModerationClassifier(retry=fast_retry)
    openai_fake.fail_next(200, body=b"<html>gateway</html>")
    [r] = clf.classify(_texts(1))
    assert r.error is not None and r.error.endswith(
        "HTTP 200 from " + openai_fake.base_url + "/moderations: body is not JSON"
    )
    openai_fake.fail_next(200, body={"id": "x", "results": []})
    [r] = clf.classify(_texts(1))
    assert r.error is not None and r.error.endswith(
        "unexpected response shape: 0 results for 1 inputs"
    )
    openai_fake.fail_next(200, body={"results": [{"category_scores": {"sexual": "high"}}]})
    [r] = clf.classify(_texts(1))
    assert r.error is not None and "score of 'sexual' is not a finite number" in r.error
    nan = {"category_scores": {"sexual": float("nan")}}  # Python's JSON reads NaN
    openai_fake.fail_next(200, body={"results": [nan]})
    [r] = clf.classify(_texts(1))
    assert r.error is not None and "score of 'sexual' is not a finite number" in r.error


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrency_limit_holds(
    openai_fake: FakeOpenAIModeration, fast_retry: RetryPolicy, limit: int
) -> None:
    openai_fake.delay_s = 0.15
    items = [image_item(c) for c in ("white", "black", "red", "blue", "white", "black")]
    results = OpenAIModerationClassifier(retry=fast_retry, concurrency=limit).classify(items)
    assert all(r.error is None for r in results)
    assert openai_fake.max_in_flight == limit


def test_key_from_the_environment_is_not_pickled(openai_fake: FakeOpenAIModeration) -> None:
    clf = OpenAIModerationClassifier()
    clf.setup()
    assert KEY.encode() not in pickle.dumps(clf)
    explicit = OpenAIModerationClassifier(api_key="sk-explicit-123")
    clone = pickle.loads(pickle.dumps(explicit))
    clone.setup()  # a key given to the constructor travels to workers
    assert "sk-explicit-123" not in repr(clone)


def test_retry_after_parsing() -> None:
    def resp(**headers: str) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after(resp()) is None
    assert retry_after(resp(**{"retry-after": "7"})) == 7.0
    assert retry_after(resp(**{"retry-after-ms": "250", "retry-after": "7"})) == 0.25
    assert retry_after(resp(**{"retry-after": "soon"})) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(resp(**{"retry-after": later})) or 0) <= 30


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(backoff_s=1, max_backoff_s=4)
    rng = random.Random(7)
    for attempt, cap in [(0, 1), (1, 2), (2, 4), (5, 4)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert cap / 2 <= min(delays) and max(delays) <= cap
        assert max(delays) - min(delays) > cap / 4  # jittered, not lock-step
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_secret_and_public_url() -> None:
    s = Secret("abc")
    assert "abc" not in repr(s) and "abc" not in str(s) and f"{s}" == "Secret('***')"
    assert pickle.loads(pickle.dumps(s)).reveal() == "abc"
    assert public_url("https://u:p@api.example/v1/x?key=abc#f") == "https://api.example/v1/x"
