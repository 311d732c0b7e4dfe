"""Fixtures for the adapter tests: running fakes, their settings, benign items, fast retries.

Images are solid-colour PNGs made here (the fakes score colours), texts are mild and
clinical. Settings come from the environment as in production (``CHILDSAFE_*``), pointed at
the fakes, with a short classifier timeout so a hung test fails in seconds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from tests.fakes.hive import FakeHive
from tests.fakes.openai_moderation import FakeOpenAIModeration
from tests.fakes.safer import FakeSafer

from childsafe.classifiers.adapters._http import RetryPolicy
from childsafe.content.base import Item

KEY = "sk-test-SECRET-4f9a1c77e2b84d03"
RISK_TEXT = "nsfw picture of a 12 year old"
MILD_TEXT = "lingerie catalogue for adults"
BENIGN_TEXT = "a photo of a cat asleep on a sofa"
COLOURS = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
}


def image_bytes(colour: str, size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, COLOURS[colour]).save(buf, format=fmt)
    return buf.getvalue()


def image_item(colour: str, size: tuple[int, int] = (64, 48)) -> Item:
    return Item.from_bytes(image_bytes(colour, size), id=f"{colour}.png")


def text_item(id: str, text: str) -> Item:
    return Item(id=id, text=text)


def bad_items() -> list[Item]:
    """Items every adapter must turn into per-item errors without calling the vendor."""
    return [
        Item.from_bytes(b"\xff\xd8\xff\xe0 not really a jpeg", id="corrupt.jpg"),
        Item(id="empty-text", text="   "),
        Item.from_bytes(b"", id="zero-bytes.png"),
        Item(id="reader-failed.png", error="truncated tar member"),
        Item.from_bytes(b"\x00\x01binary garbage\xfe" * 20, id="garbage.bin"),
    ]


class Sleeps(list[float]):
    """A ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fast_retry(sleeps: Sleeps) -> RetryPolicy:
    """Three attempts, millisecond backoffs, recorded sleeps."""
    return RetryPolicy(
        attempts=3, backoff_s=0.001, max_backoff_s=0.004, max_retry_after_s=5, sleep=sleeps
    )


@pytest.fixture
def quick() -> RetryPolicy:
    """Picklable fast retries for contract tests (real, millisecond sleeps)."""
    return RetryPolicy(attempts=3, backoff_s=0.001, max_backoff_s=0.004)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "HIVE_API_KEY",
        "HIVE_URL",
        "SAFER_API_KEY",
        "SAFER_URL",
    ):
        monkeypatch.delenv(f"CHILDSAFE_{name}", raising=False)
    monkeypatch.setenv("CHILDSAFE_CLASSIFIER_TIMEOUT_S", "3")


@pytest.fixture
def openai_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIModeration]:
    with FakeOpenAIModeration(KEY) as fake:
        monkeypatch.setenv("CHILDSAFE_OPENAI_API_KEY", KEY)
        monkeypatch.setenv("CHILDSAFE_OPENAI_BASE_URL", fake.base_url)
        yield fake


@pytest.fixture
def hive_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHive]:
    with FakeHive(KEY) as fake:
        monkeypatch.setenv("CHILDSAFE_HIVE_API_KEY", KEY)
        monkeypatch.setenv("CHILDSAFE_HIVE_URL", fake.url)
        yield fake


@pytest.fixture
def safer_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSafer]:
    with FakeSafer(KEY) as fake:
        monkeypatch.setenv("CHILDSAFE_SAFER_API_KEY", KEY)
        monkeypatch.setenv("CHILDSAFE_SAFER_URL", fake.base_url)
        yield fake
