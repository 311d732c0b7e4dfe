"""OpenAI moderation adapter against the fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image
from tests.classifiers.adapters.conftest import (
    BENIGN_TEXT,
    MILD_TEXT,
    RISK_TEXT,
    bad_items,
    image_item,
    text_item,
)
from tests.fakes.openai_moderation import FakeOpenAIModeration

from childsafe.classifiers.adapters._http import RetryPolicy
from childsafe.classifiers.adapters.openai import OpenAIModerationClassifier
from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.testing import ClassifierContract
from childsafe.content.base import Item
from childsafe.errors import ConfigError


class TestOpenAIContract(ClassifierContract):
    @pytest.fixture
    def classifier(self, openai_fake: FakeOpenAIModeration, quick: RetryPolicy) -> Classifier:
        return OpenAIModerationClassifier(retry=quick)

    @pytest.fixture
    def good_items(self) -> list[Item]:
        return [
            text_item("risk", RISK_TEXT),
            image_item("white"),
            text_item("benign", BENIGN_TEXT),
            image_item("black"),
        ]

    @pytest.fixture
    def bad_items(self) -> list[Item]:
        return bad_items()


def _clf(fake: FakeOpenAIModeration, **options: object) -> OpenAIModerationClassifier:
    return OpenAIModerationClassifier(
        retry=RetryPolicy(attempts=3, backoff_s=0.001, max_backoff_s=0.002),
        **options,  # type: ignore[arg-type]
    )


def test_text_labels_map_from_openai_categories(openai_fake: FakeOpenAIModeration) -> None:
    risk, mild, benign = _clf(openai_fake).classify(
        [text_item("r", RISK_TEXT), text_item("m", MILD_TEXT), text_item("b", BENIGN_TEXT)]
    )
    assert risk.scores == {"sexual_minors": 0.93, "sexual": 0.86}
    assert risk.flagged == ("sexual_minors", "sexual")
    assert risk.priority is Priority.HIGH
    span = {(e.label, e.start, e.end) for e in risk.evidence}
    assert span == {("sexual_minors", 0, len(RISK_TEXT)), ("sexual", 0, len(RISK_TEXT))}
    assert risk.details["vendor_model"] == "omni-moderation-2024-09-26"
    assert risk.details["vendor_request_id"].startswith("modr-")
    assert mild.scores == {"sexual_minors": 0.02, "sexual": 0.91}
    assert mild.flagged == ("sexual",) and mild.priority is Priority.LOW
    assert benign.flagged == () and benign.priority is Priority.NONE and not benign.evidence


def test_images_report_sexual_only(openai_fake: FakeOpenAIModeration) -> None:
    white, black = _clf(openai_fake).classify([image_item("white"), image_item("black")])
    # omni-moderation does not apply sexual/minors to images: no reassuring 0 is invented.
    assert white.scores == {"sexual": 1.0} and white.flagged == ("sexual",)
    assert white.details["not_applied"] == ["sexual_minors"]
    assert white.evidence[0].start is None
    assert black.scores == {"sexual": 0.0} and black.flagged == ()


def test_texts_batch_in_one_request_and_images_go_alone(
    openai_fake: FakeOpenAIModeration,
) -> None:
    texts = [text_item(f"t{i}", f"{BENIGN_TEXT} {i}") for i in range(5)]
    results = _clf(openai_fake).classify([*texts, image_item("white"), image_item("red")])
    assert all(r.error is None for r in results)
    bodies = [r.json() for r in openai_fake.requests]
    lists = [b["input"] for b in bodies if all(isinstance(x, str) for x in b["input"])]
    assert lists == [[t.text for t in texts]]
    images = [b["input"] for b in bodies if all(isinstance(x, dict) for x in b["input"])]
    assert len(images) == 2 and all(len(parts) == 1 for parts in images)
    assert len(bodies) == 3
    assert {b["model"] for b in bodies} == {"omni-moderation-latest"}
    assert {r.headers["authorization"] for r in openai_fake.requests} == {
        f"Bearer {openai_fake.api_key}"
    }


def test_batch_size_splits_requests_and_keeps_order(openai_fake: FakeOpenAIModeration) -> None:
    texts = [text_item(f"t{i}", RISK_TEXT if i % 2 else BENIGN_TEXT) for i in range(5)]
    results = _clf(openai_fake, batch_size=2).classify(texts)
    assert sorted(len(r.json()["input"]) for r in openai_fake.requests) == [1, 2, 2]
    assert [bool(r.flagged) for r in results] == [False, True, False, True, False]


def test_image_is_sent_as_jpeg_without_metadata(openai_fake: FakeOpenAIModeration) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"  # Make
    buf = io.BytesIO()
    Image.new("RGB", (3000, 1000), (200, 200, 200)).save(buf, format="JPEG", exif=exif)
    [result] = _clf(openai_fake).classify([Item.from_bytes(buf.getvalue(), id="exif.jpg")])
    assert result.error is None
    url = openai_fake.requests[0].json()["input"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert not sent.getexif() and max(sent.size) == 2048


def test_bad_items_never_reach_the_vendor(openai_fake: FakeOpenAIModeration) -> None:
    results = _clf(openai_fake).classify(bad_items())
    assert all(r.error and r.error.startswith("openai_moderation: ") for r in results)
    assert [r.error.split(": ")[1] for r in results if r.error] == [
        "corrupt.jpg",
        "empty-text",
        "zero-bytes.png",
        "reader-failed.png",
        "garbage.bin",
    ]
    assert openai_fake.requests == []


def test_huge_text_is_capped_and_says_so(
    openai_fake: FakeOpenAIModeration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHILDSAFE_TEXT_MAX_CHARS", "500")
    [result] = _clf(openai_fake).classify([text_item("big", "word " * 10_000)])
    assert openai_fake.requests[0].json()["input"] == ["word " * 100]
    assert result.details["truncated"] is True
    assert (result.details["chars_scored"], result.details["chars_total"]) == (500, 50_000)


def test_unknown_model_is_a_per_item_400(openai_fake: FakeOpenAIModeration) -> None:
    items = [text_item("a", BENIGN_TEXT), text_item("b", RISK_TEXT)]
    results = _clf(openai_fake, model="no-such-model").classify(items)
    for item, r in zip(items, results, strict=True):
        assert r.error == (
            f"openai_moderation: {item.id}: HTTP 400 from {openai_fake.base_url}/moderations: "
            "Bad Request: The model `no-such-model` does not exist."
        )
    assert len(openai_fake.requests) == 1  # a 400 is not retried


def test_missing_key_fails_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    clf = OpenAIModerationClassifier()
    with pytest.raises(ConfigError, match=r"^openai_moderation: no API key; set CHILDSAFE_OPENAI"):
        clf.setup()


def test_plain_http_to_another_host_is_refused() -> None:
    clf = OpenAIModerationClassifier(api_key="k", base_url="http://moderation.example/v1")
    with pytest.raises(ConfigError, match=r"plain HTTP to moderation\.example"):
        clf.setup()


def test_registry_builds_it_with_options(openai_fake: FakeOpenAIModeration) -> None:
    from childsafe.classifiers.registry import get_classifier

    clf = get_classifier("openai_moderation", {"sexual": 0.5}, batch_size=8)
    assert isinstance(clf, OpenAIModerationClassifier)
    assert clf.thresholds == {"sexual_minors": 0.5, "sexual": 0.5} and clf.batch_size == 8
    [r] = clf.classify([text_item("m", MILD_TEXT)])
    assert json.loads(json.dumps(r.to_dict()))["flagged"] == ["sexual"]
