"""The feature vector the text-risk heads read: a MiniLM embedding plus pattern features.

Why both: the embedding generalises to wording no lexicon lists ("a racy snapshot"), while
the pattern signals (``patterns.py``) are exact, survive obfuscation through normalisation,
and give the spans a reviewer needs. The heads learn how much to trust each.

The risk label needs the two factors *about the same subject*: "nsfw photo of a 12 year
old" is the risk, "how do I block nsfw sites on my 12 year old's tablet" (parental
controls) is not. Bag-of-words features cannot tell these apart, so :func:`pairs` links
each minor signal to each sexual signal in the same clause and close by (no sentence
punctuation or clause connective such as "after", "while", "then", "but" between them, and
at most :data:`NEAR_CHARS` apart), and the strongest such link is a feature of its own.
It is a heuristic, documented in docs/models/text-risk.md; the risk head also sees the
embedding, which carries the sentence's structure.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from childsafe.classifiers.text.normalize import Normalized, normalize
from childsafe.classifiers.text.patterns import Signal, find_signals, signal_scores

NEAR_CHARS = 60
# Words that open a new clause: a minor on one side and an adult term on the other usually
# describe different people ("after my son went to bed I watched an erotic movie").
_CLAUSE_BREAK = re.compile(
    r"[.;!?\n]|(?<![\w-])(?:after|before|while|when|whenever|then|because|but|once|until|"
    r"unless|whereas|although|though|since)(?![\w-])",
    re.IGNORECASE,
)
PATTERN_FEATURES = (
    "p_minor",
    "p_sexual",
    "p_minor_x_sexual",
    "n_minor",
    "n_sexual",
    "n_adult",
    "near_pair",
    "far_pair",
)
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Pair:
    """A minor signal and a sexual signal, and whether they describe the same subject."""

    minor: Signal
    sexual: Signal
    near: bool

    @property
    def strength(self) -> float:
        return self.minor.weight * self.sexual.weight


def pairs(text: str, signals: Sequence[Signal]) -> list[Pair]:
    """Every (minor, sexual) signal pair, strongest near pairs first.

    ``text`` is the original text the signal spans point into.
    """
    minors = [s for s in signals if s.kind == "minor"]
    sexuals = [s for s in signals if s.kind == "sexual"]
    out: list[Pair] = []
    for m in minors:
        for s in sexuals:
            lo, hi = (m.end, s.start) if m.end <= s.start else (s.end, m.start)
            if hi < lo:  # overlapping spans ("🔞👧" folded into one word): same subject
                near = True
            else:
                gap = text[lo:hi]
                near = len(gap) <= NEAR_CHARS and _CLAUSE_BREAK.search(gap) is None
            out.append(Pair(m, s, near))
    out.sort(key=lambda p: (not p.near, -p.strength, p.minor.start, p.sexual.start))
    return out


def pattern_features(text: str, signals: Sequence[Signal]) -> list[float]:
    """The :data:`PATTERN_FEATURES` of one text, in that order."""
    scores = signal_scores(signals)
    p_minor, p_sexual = float(scores.get("minor", 0.0)), float(scores.get("sexual", 0.0))
    counts = {"minor": 0, "sexual": 0, "adult": 0}
    for s in signals:
        if s.kind in counts:
            counts[s.kind] += 1
    linked = pairs(text, signals)
    near = max((p.strength for p in linked if p.near), default=0.0)
    far = max((p.strength for p in linked if not p.near), default=0.0)
    return [
        p_minor,
        p_sexual,
        p_minor * p_sexual,
        math.log1p(counts["minor"]),
        math.log1p(counts["sexual"]),
        math.log1p(counts["adult"]),
        near,
        far,
    ]


def feature_names(dim: int) -> tuple[str, ...]:
    """Names of the full feature vector: ``emb0 … emb{dim-1}`` then the pattern features."""
    return (*(f"emb{i}" for i in range(dim)), *PATTERN_FEATURES)


def assemble(embeddings: F32, patterns: Sequence[Sequence[float]]) -> F32:
    """Stack embeddings (n, dim) and pattern features (n, k) into the heads' input."""
    pat = np.asarray(patterns, dtype=np.float32).reshape(len(patterns), len(PATTERN_FEATURES))
    out: F32 = np.hstack([np.asarray(embeddings, dtype=np.float32), pat])
    return out


@dataclass(frozen=True, slots=True)
class Analysis:
    """One text, folded, with its pattern signals and pattern features."""

    normalized: Normalized
    signals: tuple[Signal, ...]
    patterns: tuple[float, ...]


def analyse(text: str) -> Analysis:
    """Fold ``text`` and read its pattern signals (cheap: well under a millisecond)."""
    norm = normalize(text)
    signals = tuple(find_signals(norm))
    return Analysis(norm, signals, tuple(pattern_features(text, signals)))


def featurize(analyses: Sequence[Analysis], embed: Callable[[Sequence[str]], F32]) -> F32:
    """The heads' input for several texts: one batched embedding call over the *folded*
    texts (so leetspeak and look-alike letters reach MiniLM as the words they spell)."""
    if not analyses:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = embed([a.normalized.text for a in analyses])
    return assemble(vectors, [a.patterns for a in analyses])


def pattern_fingerprint(patterns: Sequence[Sequence[float]]) -> str:
    """SHA-256 of pattern features (rounded to 1e-6), stored with the heads: if the lexicon
    or the normalisation changes, the heads were trained on other features and a test says
    to retrain."""
    rounded = np.round(np.asarray(patterns, dtype=np.float64), 6) + 0.0  # no negative zeros
    return hashlib.sha256(rounded.tobytes()).hexdigest()
