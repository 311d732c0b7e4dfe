"""The Sentinel method (Roblox, 2025), reimplemented from its published description.

Sentinel is a high-recall *candidate generator* for a rare class of chat: it ranks senders for
trained human reviewers and never acts on its own. Two ideas make it work on lines that look
ordinary one at a time:

1. **A contrastive per-message score.** Each message embedding is compared with an index of
   rare-class (positive) and common-class (negative) examples; the score is
   ``log(mean(exp(top-k positive similarities)) / mean(exp(top-k negative similarities)))``,
   clipped at 0 (closer to ordinary chat) and zeroed under a floor of 0.1, so almost every
   ordinary message scores exactly 0. A log-ratio of soft maxima is robust to the two indexes
   having very different sizes, which a nearest-neighbour vote is not.
2. **Skewness over a sender's recent scores**, ``(mean − median) / std``. Most of a groomer's
   lines are ordinary (median 0) and a few spike, which skews the distribution right; a chatty
   benign sender who trips the score now and then does not move the median either, but neither
   does he produce a consistent right tail. The statistic ignores message volume. Under 10
   scores it is 0: too few to tell a tail from noise.

Our deviations: the skew uses the population standard deviation, and the caller chooses the
window (the scorer keeps the last N ≥ 10 messages of a sender→recipient pair).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from childsafe.classifiers.base import ModelInfo

TOP_K = 5
FLOOR = 0.1
MIN_SKEW_SCORES = 10

F32 = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What the conversation scorer needs from a sentence embedder (injectable in tests)."""

    @property
    def model(self) -> ModelInfo: ...

    def embed(self, texts: Sequence[str]) -> F32:
        """(len(texts), dim) float32 unit vectors."""
        ...


def _log_mean_exp(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``log(mean(exp(v)))`` along the last axis, computed without overflow."""
    top = values.max(axis=-1, keepdims=True)
    out: npt.NDArray[np.float64] = top[..., 0] + np.log(np.mean(np.exp(values - top), axis=-1))
    return out


def _top_k(similarities: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """The ``k`` largest values of each row (all of them when a row is shorter)."""
    n = similarities.shape[-1]
    if n == 0:
        raise ValueError("an exemplar index needs at least one positive and one negative")
    if k >= n:
        return similarities
    return np.partition(similarities, n - k, axis=-1)[..., n - k :]


def contrastive_scores(
    pos_similarities: npt.ArrayLike,
    neg_similarities: npt.ArrayLike,
    *,
    top_k: int = TOP_K,
    floor: float = FLOOR,
) -> npt.NDArray[np.float64]:
    """Sentinel scores from similarity rows (one row per message) to both exemplar sets."""
    pos = np.atleast_2d(np.asarray(pos_similarities, dtype=np.float64))
    neg = np.atleast_2d(np.asarray(neg_similarities, dtype=np.float64))
    ratio = _log_mean_exp(_top_k(pos, top_k)) - _log_mean_exp(_top_k(neg, top_k))
    scores = np.maximum(ratio, 0.0)
    scores[scores < floor] = 0.0
    return scores


def contrastive_score(
    pos_similarities: Sequence[float],
    neg_similarities: Sequence[float],
    *,
    top_k: int = TOP_K,
    floor: float = FLOOR,
) -> float:
    """The score of one message from its similarities to every positive and negative."""
    return float(
        contrastive_scores(pos_similarities, neg_similarities, top_k=top_k, floor=floor)[0]
    )


def skewness(scores: Sequence[float], min_count: int = MIN_SKEW_SCORES) -> float:
    """``(mean − median) / std`` of ``scores``; 0 with fewer than ``min_count`` or no spread.

    Always within [-1, 1] (the mean and median of a distribution are never more than one
    standard deviation apart), which lets the scorer use it as a weight directly.
    """
    n = len(scores)
    if n < max(min_count, 2):
        return 0.0
    values = np.asarray(scores, dtype=np.float64)
    std = float(values.std())
    if not math.isfinite(std) or std <= 1e-12:
        return 0.0
    return float((values.mean() - np.median(values)) / std)


class SentinelIndex:
    """Positive and negative exemplar embeddings, scored by :func:`contrastive_scores`."""

    def __init__(
        self,
        positives: npt.ArrayLike,
        negatives: npt.ArrayLike,
        *,
        top_k: int = TOP_K,
        floor: float = FLOOR,
        threads: int = 1,
    ) -> None:
        self.positives = np.ascontiguousarray(positives, dtype=np.float64)
        self.negatives = np.ascontiguousarray(negatives, dtype=np.float64)
        if self.positives.ndim != 2 or self.negatives.ndim != 2:
            raise ValueError("exemplar embeddings must be 2-D (n, dim)")
        if not len(self.positives) or not len(self.negatives):
            raise ValueError("an exemplar index needs at least one positive and one negative")
        if self.positives.shape[1] != self.negatives.shape[1]:
            raise ValueError(
                f"positive and negative exemplars differ in width "
                f"({self.positives.shape[1]} vs {self.negatives.shape[1]})"
            )
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.top_k = top_k
        self.floor = floor
        self.threads = threads
        self._all = np.ascontiguousarray(np.vstack([self.positives, self.negatives]).T)

    @property
    def dim(self) -> int:
        return int(self.positives.shape[1])

    def score(self, embeddings: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """One score per row of ``embeddings`` (unit vectors, so dot product = cosine).

        The product runs in float64, so a message scores the same alone or in a batch (in
        float32 the summation order of the two BLAS kernels shows at 1e-8), with BLAS capped
        at ``threads``: for one message it is a sub-millisecond matrix-vector product, and
        waking a multi-threaded BLAS pool for it was measured at 15 ms on a busy 2-core
        machine.
        """
        queries = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"embeddings have shape {queries.shape}, index has width {self.dim}")
        with _blas_limit(self.threads):
            sims = queries @ self._all
        n = len(self.positives)
        return contrastive_scores(sims[:, :n], sims[:, n:], top_k=self.top_k, floor=self.floor)


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _blas_limit(threads: int) -> Any:
    """A context manager capping BLAS threads for the duration of one product."""
    return _controller().limit(limits=threads, user_api="blas")
