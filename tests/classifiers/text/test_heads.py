"""Logistic heads: the Newton trainer on small random data, the file format, the shipped file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from childsafe.classifiers.text import synth
from childsafe.classifiers.text.features import (
    PATTERN_FEATURES,
    analyse,
    feature_names,
    pattern_fingerprint,
)
from childsafe.classifiers.text.heads import (
    FORMAT_VERSION,
    Heads,
    fit_logistic,
    sigmoid,
    train_heads,
)
from childsafe.classifiers.text.risk import HEAD_LABELS, HEADS_PATH, TextRiskClassifier
from childsafe.errors import ConfigError


def _data(n: int = 400, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=d) + rng.normal(size=d)
    w = rng.normal(size=d)
    y = (rng.uniform(size=n) < sigmoid(x @ w - (x @ w).mean())).astype(float)
    return x, y, w


def _objective(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, l2: float) -> float:
    """The documented objective, with the penalty on standardised weights."""
    p = np.clip(sigmoid(x @ w + b), 1e-12, 1 - 1e-12)
    loss = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(loss + l2 / 2 * np.sum((w * x.std(axis=0)) ** 2))


def test_sigmoid_is_stable_at_extremes() -> None:
    out = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert np.all(np.isfinite(out)) and out.tolist() == [0.0, 0.5, 1.0]


def test_newton_reaches_the_minimum() -> None:
    x, y, _ = _data()
    w, b = fit_logistic(x, y, l2=2.0)
    best = _objective(x, y, w, b, 2.0)
    rng = np.random.default_rng(1)
    for _ in range(20):  # every nearby point is worse
        dw, db = rng.normal(scale=1e-3, size=w.shape), rng.normal(scale=1e-3)
        assert _objective(x, y, w + dw, b + db, 2.0) > best


def test_learns_the_direction_that_generated_the_labels() -> None:
    x, y, w_true = _data(n=3000, seed=2)
    w, _ = fit_logistic(x, y, l2=1.0)
    cosine = w @ w_true / np.linalg.norm(w) / np.linalg.norm(w_true)
    assert cosine > 0.95


def test_more_regularisation_means_smaller_weights() -> None:
    x, y, _ = _data(seed=3)
    norms = [np.linalg.norm(fit_logistic(x, y, l2=reg)[0] * x.std(axis=0)) for reg in (1, 100, 1e4)]
    assert norms[0] > norms[1] > norms[2]


def test_separable_data_stays_finite() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    w, b = fit_logistic(x, np.array([0, 0, 1, 1]), l2=0.01)
    assert np.isfinite(w).all() and np.isfinite(b)
    assert (sigmoid(x @ w + b) > 0.5).tolist() == [False, False, True, True]


def test_penalty_factor_lets_a_trusted_feature_carry_the_weight() -> None:
    rng = np.random.default_rng(4)
    signal = rng.normal(size=500)
    x = np.column_stack([signal, signal + rng.normal(scale=0.01, size=500)])
    y = (signal > 0).astype(float)
    w, _ = fit_logistic(x, y, l2=10.0, penalty_factor=[1.0, 0.01])
    assert abs(w[1]) > 5 * abs(w[0])


def test_sample_weight_and_balance_shift_the_prior() -> None:
    x, y, _ = _data(seed=5)
    y[: int(0.8 * len(y))] = 0  # mostly negatives
    names = [f"f{i}" for i in range(x.shape[1])]
    plain = train_heads(x, {"y": y}, names, balance=False).predict(x)["y"]
    balanced = train_heads(x, {"y": y}, names, balance=True).predict(x)["y"]
    assert balanced[y == 1].mean() > plain[y == 1].mean()


def test_a_conditional_head_learns_only_from_its_rows() -> None:
    x, y, _ = _data(seed=6)
    rows = x[:, 0] > 0
    names = [f"f{i}" for i in range(x.shape[1])]
    heads = train_heads(x, {"a": y, "b": y}, names, subsets={"b": rows}, balance=False)
    direct = train_heads(x[rows], {"b": y[rows]}, names, balance=False)
    np.testing.assert_allclose(heads.weights[1], direct.weights[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(heads.weights[0], heads.weights[1])


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((3, 2)), np.array([0, 1]), "shape"),
        (np.zeros((3, 2)), np.array([0, 1, 2]), "0 or 1"),
        (np.zeros((3, 2)), np.array([1, 1, 1]), "both classes"),
        (np.array([[np.nan, 0], [0, 0], [1, 1]]), np.array([0, 1, 1]), "finite"),
    ],
)
def test_bad_training_input_is_refused(x: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_logistic(x, y)


def test_save_load_round_trip(tmp_path: Path) -> None:
    x, y, _ = _data(seed=7)
    names = [f"f{i}" for i in range(x.shape[1])]
    meta = {"version": "9.test", "embedder": {"name": "e", "version": "1"}}
    heads = train_heads(x, {"a": y, "b": 1 - y}, names, meta=meta)
    path = tmp_path / "heads.npz"
    heads.save(path)
    loaded = Heads.load(path)
    assert loaded.labels == ("a", "b") and loaded.feature_names == tuple(names)
    assert loaded.version == "9.test" and loaded.meta["embedder"] == {"name": "e", "version": "1"}
    for label in ("a", "b"):
        np.testing.assert_allclose(loaded.predict(x)[label], heads.predict(x)[label], atol=1e-6)
    again = tmp_path / "again.npz"
    loaded.save(again)
    assert again.read_bytes() == path.read_bytes()  # no timestamps: reproducible files
    with zipfile.ZipFile(path) as zf:  # plain arrays, no pickled objects
        assert sorted(zf.namelist()) == ["bias.npy", "meta.npy", "weights.npy"]


def test_damaged_or_foreign_files_are_config_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00not a zip")
    with pytest.raises(ConfigError, match="not a text-heads file"):
        Heads.load(junk)
    x, y, _ = _data(seed=8)
    heads = train_heads(x, {"a": y}, [f"f{i}" for i in range(x.shape[1])])
    future = tmp_path / "future.npz"
    np.savez(
        future,
        weights=heads.weights,
        bias=heads.bias,
        meta=np.array(json.dumps({"format_version": FORMAT_VERSION + 1})),
    )
    with pytest.raises(ConfigError, match="head format"):
        Heads.load(future)
    with pytest.raises(ConfigError, match="do not fit"):
        Heads(("a",), ("f0",), heads.weights, heads.bias)
    with pytest.raises(ValueError, match="heads expect"):
        heads.predict(np.zeros((1, 2)))


def test_the_shipped_head_file_matches_the_code_and_the_data() -> None:
    """Fails when templates, features or thresholds change without retraining
    (python scripts/train_text_heads.py)."""
    assert HEADS_PATH.stat().st_size < 16_384
    heads = Heads.load(HEADS_PATH)
    assert heads.labels == HEAD_LABELS
    assert heads.feature_names == feature_names(384)
    assert heads.feature_names[-len(PATTERN_FEATURES) :] == PATTERN_FEATURES
    samples, spec = synth.training_data()
    assert heads.meta["data_spec_sha256"] == synth.spec_sha256(spec)
    # the lexicon and normalisation still produce the features the heads were trained on
    patterns = [analyse(s.text).patterns for s in samples]
    assert heads.meta["pattern_features_sha256"] == pattern_fingerprint(patterns)
    assert heads.meta["embedder"]["name"].startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert heads.meta["thresholds"] == dict(TextRiskClassifier.default_thresholds)
    assert heads.version.startswith(f"{FORMAT_VERSION}.")
