"""Safer adapter against the fake of its ASSUMED wire format, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from tests.classifiers.adapters.conftest import (
    BENIGN_TEXT,
    KEY,
    RISK_TEXT,
    bad_items,
    image_bytes,
    image_item,
    text_item,
)
from tests.fakes import parse_form
from tests.fakes.safer import FakeSafer

from childsafe.classifiers.adapters._http import RetryPolicy
from childsafe.classifiers.adapters.safer import SaferClassifier, SaferWire
from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.testing import ClassifierContract
from childsafe.content.base import Item
from childsafe.errors import ConfigError


class TestSaferContract(ClassifierContract):
    @pytest.fixture
    def classifier(self, safer_fake: FakeSafer, quick: RetryPolicy) -> Classifier:
        return SaferClassifier(retry=quick)

    @pytest.fixture
    def good_items(self) -> list[Item]:
        return [
            image_item("blue"),
            text_item("risk", RISK_TEXT),
            image_item("white"),
            text_item("benign", BENIGN_TEXT),
        ]

    @pytest.fixture
    def bad_items(self) -> list[Item]:
        return bad_items()


def _clf(**options: Any) -> SaferClassifier:
    return SaferClassifier(retry=RetryPolicy(attempts=3, backoff_s=0.001), **options)


def test_image_classifier_scores_map_to_csam(safer_fake: FakeSafer) -> None:
    blue, white = _clf().classify([image_item("blue"), image_item("white")])
    assert blue.scores == {"csam": 0.98} and blue.flagged == ("csam",)
    assert blue.priority is Priority.HIGH
    classes = blue.details["classifier"]
    assert set(classes) == {"csam", "pornography", "other"} and classes["csam"] == 0.98
    assert sum(classes.values()) == pytest.approx(1.0)
    assert blue.details["hash_matches"] == []
    assert white.scores == {"csam": 0.0} and white.priority is Priority.NONE


def test_known_hash_match_is_reported_with_its_source(safer_fake: FakeSafer) -> None:
    benign = image_bytes("white")  # a benign image standing in for a listed hash
    safer_fake.known_md5.add(hashlib.md5(benign).hexdigest())
    [r] = _clf().classify([Item.from_bytes(benign, id="listed.png")])
    assert r.scores == {"csam": 1.0} and r.priority is Priority.HIGH
    [match] = r.details["hash_matches"]
    assert (match["hash_set"], match["source_id"], match["distance"]) == (
        "test",
        "benign-test-1",
        0,
    )
    assert r.evidence[0].detail == "Safer known-hash match: saferhashv0 in test (distance 0)"
    # the original bytes were sent: a re-encode would have defeated the match
    sent = parse_form(safer_fake.requests[0])["file"][0]
    assert sent == benign


def test_text_scores_map_to_cse(safer_fake: FakeSafer) -> None:
    risk, minor_only = _clf().classify(
        [text_item("r", RISK_TEXT), text_item("m", "photo of my 12 year old at the beach")]
    )
    assert risk.scores == {"cse": 0.95} and risk.flagged == ("cse",)
    assert risk.evidence[0].detail == "Safer csam=0.95"
    assert (risk.evidence[0].start, risk.evidence[0].end) == (0, len(RISK_TEXT))
    # a minor mention alone is not exploitation: kept in details, not in the score
    assert minor_only.scores == {"cse": 0.03} and minor_only.flagged == ()
    assert minor_only.details["text_classifier"]["has_minor"] == 0.9
    bodies = [q.json() for q in safer_fake.requests]
    assert {"text": RISK_TEXT} in bodies
    assert {q.headers["authorization"] for q in safer_fake.requests} == {f"Bearer {KEY}"}


def test_bad_items_never_reach_safer(safer_fake: FakeSafer) -> None:
    results = _clf().classify(bad_items())
    assert all(r.error and r.error.startswith("safer: ") for r in results)
    assert safer_fake.requests == []


def test_a_customer_wire_replaces_the_assumed_one(safer_fake: FakeSafer) -> None:
    class OtherPaths(SaferWire):
        def request(self, base_url: str, content: Any) -> tuple[str, dict[str, Any]]:
            url, kwargs = super().request(base_url, content)
            return url.replace("/image", "/v2/images"), kwargs

    [r] = _clf(wire=OtherPaths()).classify([image_item("blue")])
    assert r.error == (
        f"safer: blue.png: HTTP 404 from {safer_fake.base_url}/v2/images: "
        "endpoint not found (check the base URL): no route /api/v1/v2/images"
    )


def test_unexpected_answers_are_per_item_errors(safer_fake: FakeSafer) -> None:
    safer_fake.fail_next(200, body={"file": {"reasons": []}, "hashes": []})
    safer_fake.fail_next(200, body={"predictions": {"other_model": {}}})
    image, text = _clf(concurrency=1).classify([image_item("blue"), text_item("t", RISK_TEXT)])
    assert image.error == (
        "safer: blue.png: unexpected response shape: neither a hash match nor a 'csam' score"
    )
    assert text.error == "safer: t: unexpected response shape: no 'csa_text_classifier'"


def test_missing_url_fails_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHILDSAFE_SAFER_API_KEY", "k")
    with pytest.raises(ConfigError, match=r"^safer: no API URL; set CHILDSAFE_SAFER_URL"):
        SaferClassifier().setup()
