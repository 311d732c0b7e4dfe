"""Hive adapter against the fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
from tests.classifiers.adapters.conftest import (
    BENIGN_TEXT,
    KEY,
    MILD_TEXT,
    RISK_TEXT,
    bad_items,
    image_item,
    text_item,
)
from tests.fakes import parse_form
from tests.fakes.hive import FakeHive

from childsafe.classifiers.adapters._http import RetryPolicy
from childsafe.classifiers.adapters.hive import HiveClassifier
from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.testing import ClassifierContract
from childsafe.content.base import Item
from childsafe.errors import ConfigError


class TestHiveContract(ClassifierContract):
    @pytest.fixture
    def classifier(self, hive_fake: FakeHive, quick: RetryPolicy) -> Classifier:
        return HiveClassifier(retry=quick)

    @pytest.fixture
    def good_items(self) -> list[Item]:
        return [
            image_item("white"),
            text_item("risk", RISK_TEXT),
            image_item("red"),
            text_item("benign", BENIGN_TEXT),
        ]

    @pytest.fixture
    def bad_items(self) -> list[Item]:
        return bad_items()


def _clf(**options: object) -> HiveClassifier:
    return HiveClassifier(retry=RetryPolicy(attempts=3, backoff_s=0.001), **options)  # type: ignore[arg-type]


def test_visual_classes_map_to_labels(hive_fake: FakeHive) -> None:
    white, red, black = _clf().classify(
        [image_item("white"), image_item("red"), image_item("black")]
    )
    # the fake's gun head is not mapped and must not appear
    assert white.scores == {"minor_present": 1.0, "sexual": 1.0}
    assert set(white.flagged) == {"minor_present", "sexual"}
    assert white.priority is Priority.HIGH  # a minor and sexual content together
    assert red.scores == pytest.approx({"minor_present": 1.0, "sexual": 0.299}, abs=0.01)
    assert red.flagged == ("minor_present",) and red.priority is Priority.LOW
    assert black.scores == {"minor_present": 0.0, "sexual": 0.0} and black.flagged == ()
    details = {e.label: e.detail for e in white.evidence}
    assert details == {
        "minor_present": "Hive yes_child_present=1.00",
        "sexual": "Hive general_nsfw=1.00",
    }


def test_text_severities_scale_to_scores(hive_fake: FakeHive) -> None:
    risk, mild, benign = _clf().classify(
        [text_item("r", RISK_TEXT), text_item("m", MILD_TEXT), text_item("b", BENIGN_TEXT)]
    )
    assert risk.scores == {"sexual": 1.0, "child_exploitation": 1.0}
    assert risk.priority is Priority.HIGH and set(risk.flagged) == {"sexual", "child_exploitation"}
    assert mild.scores == pytest.approx({"sexual": 2 / 3, "child_exploitation": 0.0})
    assert mild.flagged == ()  # Hive level 2 is under the 0.8 default
    assert benign.scores == {"sexual": 0.0, "child_exploitation": 0.0}
    assert risk.details["language"] == ["EN"]
    assert {(e.label, e.detail) for e in risk.evidence} == {
        ("sexual", "Hive sexual=level 3"),
        ("child_exploitation", "Hive child_exploitation=level 3"),
    }


def test_requests_follow_the_sync_task_api(hive_fake: FakeHive) -> None:
    _clf().classify([image_item("white"), text_item("t", BENIGN_TEXT)])
    assert {r.headers["authorization"] for r in hive_fake.requests} == {f"Token {KEY}"}
    forms = sorted((parse_form(r) for r in hive_fake.requests), key=lambda f: sorted(f))
    media, text = sorted(forms, key=lambda f: "text_data" in f)
    assert set(media) == {"media"} and media["media"][1] == "image.jpeg"
    assert media["media"][0][:3] == b"\xff\xd8\xff"  # re-encoded JPEG, not the PNG we hold
    assert text == {"text_data": (BENIGN_TEXT.encode(), None)}


def test_long_text_goes_in_pieces_and_evidence_points_at_the_piece(hive_fake: FakeHive) -> None:
    filler = "the weather report says light rain later today. " * 50  # ~2,450 characters
    text = filler + RISK_TEXT + " " + filler[:300]
    [r] = _clf().classify([text_item("long", text)])
    sent = [parse_form(q)["text_data"][0].decode() for q in hive_fake.requests]
    assert len(sent) == 3 and all(len(s) <= 1024 for s in sent)
    assert "".join(sorted(sent, key=text.index)) == text
    assert r.scores["child_exploitation"] == 1.0 and r.details["pieces"] == 3
    [ev] = [e for e in r.evidence if e.label == "child_exploitation"]
    assert ev.start is not None and ev.end is not None and RISK_TEXT in text[ev.start : ev.end]


def test_bad_items_never_reach_hive(hive_fake: FakeHive) -> None:
    results = _clf().classify(bad_items())
    assert all(r.error and r.error.startswith("hive: ") for r in results)
    assert hive_fake.requests == []


def test_unsupported_language_is_a_per_item_error(hive_fake: FakeHive) -> None:
    [r] = _clf().classify([text_item("emoji", "😀 😀 😀")])
    assert r.error == "hive: emoji: Hive did not moderate this text (language not supported)"


def test_a_project_without_mapped_classes_says_so(hive_fake: FakeHive) -> None:
    status = {"code": "0", "message": "SUCCESS"}
    out = [{"time": 0, "classes": [{"class": "gun_in_hand", "score": 0.9}]}]
    hive_fake.fail_next(200, body={"status": [{"status": status, "response": {"output": out}}]})
    [r] = _clf().classify([image_item("white")])
    assert r.error is not None and "none of the mapped Hive classes" in r.error
    assert "yes_child_present" in r.error and "right project" in r.error


def test_a_failed_task_status_is_a_per_item_error(hive_fake: FakeHive) -> None:
    status = {"code": "400", "message": "media could not be processed"}
    hive_fake.fail_next(200, body={"status": [{"status": status, "response": {}}]})
    [r] = _clf().classify([image_item("white")])
    assert r.error == "hive: white.png: Hive task failed: status 400: media could not be processed"


def test_wrong_project_and_wrong_key_are_per_item_errors(hive_fake: FakeHive) -> None:
    hive_fake.project = "visual"
    [r] = _clf().classify([text_item("t", BENIGN_TEXT)])
    assert r.error == (
        f"hive: t: HTTP 400 from {hive_fake.url}: Bad Request: visual project: send media or url"
    )
    results = _clf(api_key="wrong-token-123").classify([image_item("white"), image_item("red")])
    for res in results:
        assert res.error is not None and res.error.endswith(
            "HTTP 403 from " + hive_fake.url + ": the API key may not use this endpoint"
        )
        assert "wrong-token-123" not in res.error


def test_rate_limit_then_success(hive_fake: FakeHive) -> None:
    hive_fake.fail_next(429, retry_after="0")
    [r] = _clf().classify([image_item("white")])
    assert r.error is None and len(hive_fake.requests) == 2


def test_missing_key_fails_at_setup() -> None:
    with pytest.raises(ConfigError, match=r"^hive: no API key; set CHILDSAFE_HIVE_API_KEY"):
        HiveClassifier().setup()
