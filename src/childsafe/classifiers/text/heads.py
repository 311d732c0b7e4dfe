"""Logistic-regression heads over sentence embeddings, trained and stored without scikit-learn.

A head is ``sigmoid(x·w + b)``: a few hundred numbers per label, so the trained file is a
few KB, loads in a millisecond and is easy to audit. Training is L2-regularised Newton's
method (IRLS) on standardised features: with ~400 features the Hessian is a 400×400 solve,
Newton converges in about ten steps, and the result is deterministic (no learning rate, no
shuffling), so ``scripts/train_text_heads.py`` reproduces the committed file bit for bit on
the same NumPy. Standardisation only conditions the problem: it is folded back into ``w``
and ``b`` before saving, so inference is one matrix product.

The file is a NumPy ``.npz`` (no pickle) holding ``weights`` (labels × features, float32),
``bias`` and a JSON ``meta`` string with the format version, the label and feature names, the
embedder the heads were trained on (name and version: heads are meaningless on another
embedding) and the SHA-256 of the training-data spec (childsafe.classifiers.text.synth), so a
model names exactly the data it learned from.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from childsafe.errors import ConfigError

FORMAT_VERSION = 1
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


def sigmoid(z: npt.NDArray[np.floating[Any]]) -> F64:
    """Numerically stable logistic function."""
    z64 = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z64)
    pos = z64 >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z64[pos]))
    ez = np.exp(z64[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def fit_logistic(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    l2: float = 1.0,
    sample_weight: npt.ArrayLike | None = None,
    penalty_factor: npt.ArrayLike | None = None,
    max_iter: int = 100,
    tol: float = 1e-8,
) -> tuple[F64, float]:
    """Weights and bias minimising weighted log-loss + ``l2/2·|w|²`` (bias not penalised).

    The penalty applies to standardised features, so one ``l2`` suits embedding dimensions
    and count features alike; ``penalty_factor`` scales it per feature (as glmnet's
    ``penalty.factor``), so a few trusted features can carry weight that 384 embedding
    dimensions would otherwise share out among themselves. Raises ``ValueError`` for shapes
    that do not match, labels other than 0/1, or a single class (no boundary to learn).
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.ndim != 2 or xa.shape[0] != ya.shape[0] or xa.shape[0] == 0:
        raise ValueError(f"need x of shape (n, d) and y of shape (n,): got {xa.shape}, {ya.shape}")
    if not np.isin(ya, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if ya.min() == ya.max():
        raise ValueError("labels must contain both classes")
    if not np.isfinite(xa).all():
        raise ValueError("features must be finite")
    if l2 <= 0:
        raise ValueError("l2 must be positive (it keeps separable data from diverging)")
    sw = np.ones_like(ya) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if sw.shape != ya.shape or (sw < 0).any():
        raise ValueError("sample_weight must be non-negative, one per row")

    mean = xa.mean(axis=0)
    std = xa.std(axis=0)
    std[std < 1e-12] = 1.0
    z = np.hstack([(xa - mean) / std, np.ones((xa.shape[0], 1))])
    d = z.shape[1]
    factor = np.ones(d - 1) if penalty_factor is None else np.asarray(penalty_factor, np.float64)
    if factor.shape != (d - 1,) or (factor < 0).any():
        raise ValueError(f"penalty_factor must be {d - 1} non-negative numbers")
    penalty = np.append(l2 * factor, 0.0)
    theta = np.zeros(d)
    for _ in range(max_iter):
        p = sigmoid(z @ theta)
        grad = z.T @ (sw * (p - ya)) + penalty * theta
        hess = (z * (sw * p * (1.0 - p))[:, None]).T @ z + np.diag(penalty) + 1e-10 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < tol:
            break
    w = theta[:-1] / std
    b = float(theta[-1] - np.sum(theta[:-1] * mean / std))
    return w, b


@dataclass(frozen=True, slots=True)
class Heads:
    """Several logistic heads over one feature vector, with what they were trained on."""

    labels: tuple[str, ...]
    feature_names: tuple[str, ...]
    weights: F32
    bias: F32
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k, d = len(self.labels), len(self.feature_names)
        if self.weights.shape != (k, d) or self.bias.shape != (k,):
            raise ConfigError(
                f"heads: weights {self.weights.shape} and bias {self.bias.shape} do not fit "
                f"{k} labels × {d} features"
            )
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise ConfigError("heads: weights are not finite")

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def logits(self, x: npt.ArrayLike) -> F64:
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim != 2 or xa.shape[1] != len(self.feature_names):
            raise ValueError(
                f"heads expect (n, {len(self.feature_names)}) features, got {xa.shape}"
            )
        out: F64 = xa @ self.weights.T.astype(np.float64) + self.bias.astype(np.float64)
        return out

    def predict(self, x: npt.ArrayLike) -> dict[str, F64]:
        """Per label, the probability of each row."""
        p = sigmoid(self.logits(x))
        return {label: p[:, i] for i, label in enumerate(self.labels)}

    def save(self, path: str | Path) -> None:
        """Write the ``.npz`` (compressed, no pickle); the same heads give the same bytes."""
        meta = {
            **self.meta,
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "feature_names": list(self.feature_names),
        }
        arrays = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "meta": np.array(json.dumps(meta, sort_keys=True, ensure_ascii=True)),
        }
        Path(path).write_bytes(_npz_bytes(arrays))

    @classmethod
    def load(cls, path: str | Path) -> Heads:
        """Read a file written by :meth:`save`; a damaged or foreign file is a ``ConfigError``."""
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as npz:
                weights = np.asarray(npz["weights"], dtype=np.float32)
                bias = np.asarray(npz["bias"], dtype=np.float32)
                meta = json.loads(str(npz["meta"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"{p}: not a text-heads file ({exc})") from exc
        if not isinstance(meta, dict):
            raise ConfigError(f"{p}: head metadata is not an object")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"{p}: head format {meta.get('format_version')!r}, this childsafe reads "
                f"{FORMAT_VERSION}; retrain with scripts/train_text_heads.py"
            )
        labels = tuple(str(x) for x in meta.pop("labels", ()))
        names = tuple(str(x) for x in meta.pop("feature_names", ()))
        return cls(labels, names, weights, bias, meta)


def _npz_bytes(arrays: Mapping[str, npt.NDArray[Any]]) -> bytes:
    """An ``.npz`` with fixed member timestamps (``np.savez`` stamps the current time), so
    retraining on the same data reproduces the committed file byte for byte."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def train_heads(
    x: npt.ArrayLike,
    targets: Mapping[str, npt.ArrayLike],
    feature_names: Sequence[str],
    *,
    l2: float | Mapping[str, float] = 1.0,
    penalty_factor: npt.ArrayLike | Mapping[str, npt.ArrayLike] | None = None,
    subsets: Mapping[str, npt.ArrayLike] | None = None,
    balance: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> Heads:
    """One head per label in ``targets``, sharing the feature matrix ``x``; ``l2`` and
    ``penalty_factor`` may be given per label.

    ``subsets[label]`` (a boolean mask) restricts a head to some rows: a conditional head,
    such as "same subject, given both a minor and sexual context", learns only from rows
    where its condition holds.

    ``balance`` weights each class by the inverse of its frequency, so a rare label (risk) is
    not traded away for accuracy on the common negatives; thresholds are set afterwards on a
    validation split, so the shifted prior costs nothing.
    """
    xa = np.asarray(x, dtype=np.float64)
    if xa.shape[1:] != (len(feature_names),):
        raise ValueError(f"{len(feature_names)} feature names for x of shape {xa.shape}")
    ws, bs = [], []
    for label, y in targets.items():
        ya = np.asarray(y, dtype=np.float64)
        xs = xa
        if subsets is not None and label in subsets:
            rows = np.asarray(subsets[label], dtype=bool)
            xs, ya = xa[rows], ya[rows]
        sw = None
        if balance:
            pos = ya.mean()
            sw = np.where(ya > 0.5, 0.5 / max(pos, 1e-12), 0.5 / max(1.0 - pos, 1e-12))
        reg = l2[label] if isinstance(l2, Mapping) else l2
        factor = (
            penalty_factor.get(label) if isinstance(penalty_factor, Mapping) else penalty_factor
        )
        w, b = fit_logistic(xs, ya, l2=reg, sample_weight=sw, penalty_factor=factor)
        ws.append(w)
        bs.append(b)
    return Heads(
        tuple(targets),
        tuple(feature_names),
        np.asarray(ws, dtype=np.float32),
        np.asarray(bs, dtype=np.float32),
        dict(meta or {}),
    )
