"""Fixtures: a tiny deterministic embedder for the maths, and the real MiniLM for the rest.

The fake embeds a text as the normalised sum of one-hot vectors of its words, hashed into 32
dimensions with a stable hash (crc32), so every test run gets the same vectors and the same
text always gets the same vector, whatever batch it arrives in.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from childsafe.classifiers.base import ModelInfo
from childsafe.classifiers.conversation.messages import Message
from childsafe.classifiers.conversation.sentinel import SentinelIndex
from childsafe.errors import ConfigError

DIM = 32

POSITIVE_LINES = [
    "how old are you",
    "are your parents home",
    "dont tell your parents about us",
    "add me on another app",
    "send me a picture of you",
]
NEGATIVE_LINES = [
    "good game",
    "did you finish the homework",
    "dinner is ready",
    "the new map is huge",
    "see you tomorrow",
    "practice is cancelled",
    "lol same",
]


class FakeEmbedder:
    """Bag of hashed words, L2-normalised; counts its calls."""

    def __init__(self, dim: int = DIM, fail_on: str | None = None) -> None:
        self.dim = dim
        self.calls = 0
        self.fail_on = fail_on

    @property
    def model(self) -> ModelInfo:
        return ModelInfo("fake-bag-of-words", f"dim{self.dim}", "test-only")

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            if self.fail_on is not None and self.fail_on in text:
                raise RuntimeError("embedding backend unavailable")
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_embedder_class() -> type[FakeEmbedder]:
    return FakeEmbedder


@pytest.fixture
def fake_index(fake_embedder: FakeEmbedder) -> SentinelIndex:
    return SentinelIndex(fake_embedder.embed(POSITIVE_LINES), fake_embedder.embed(NEGATIVE_LINES))


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    """The process-wide MiniLM embedder; tests using it skip where the model is missing."""
    try:
        from childsafe.classifiers.text.embedder import get_embedder

        return get_embedder()
    except (ImportError, ConfigError) as exc:
        pytest.skip(f"text model not installed: {exc}")


@pytest.fixture
def chat() -> Callable[..., list[Message]]:
    """``chat(("a", "b", "text"), ...)`` → messages of one conversation, ids m0, m1, …"""

    def make(*turns: tuple[str, str | None, str], conversation: str = "c1") -> list[Message]:
        return [
            Message(conversation, sender, text, recipient, None, f"m{i}", i + 1)
            for i, (sender, recipient, text) in enumerate(turns)
        ]

    return make
