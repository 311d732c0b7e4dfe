"""Train the text_risk heads and write ``src/childsafe/classifiers/text/model/text_risk_heads.npz``.

Three logistic heads over [MiniLM embedding of the folded text + pattern features]:
``minor`` and ``sexual`` on every training sentence, and ``same_subject`` only on sentences
that have both (risk versus mixed-subject sentences such as parental-control questions). The
risk score is ``p_minor · p_sexual · p_same_subject`` (risk.combine_risk).

Deterministic: the synthetic training data comes from ``train.json`` with a fixed seed, the
folds from a hash of each sentence's vocabulary, and Newton's method has no randomness, so a
rerun on the same machine reproduces the committed file byte for byte (``--check``).

How the settings and operating points are chosen, without ever looking at the held-out set:

1. The training sentences are split into 5 folds *by vocabulary*: a sentence's group is its
   mild term (else its minor term, else its adult term, else its frame), so each validation
   fold holds words the fold's model never saw. That mimics the held-out set, whose words
   are all new; a random split would put near-duplicates of every validation sentence in
   training and pick over-confident thresholds.
2. For each head, the L2 strength and the penalty factor of the pattern features (how much
   more the few lexicon features may weigh than one embedding dimension) are chosen from a
   small grid by out-of-fold log-loss.
3. Thresholds are chosen on the out-of-fold probabilities: ``minor`` and ``sexual`` maximise
   F1; ``risk`` maximises F1 subject to a false-positive rate of at most 0.5 % on the
   benign-child class (the target is 1 % on held-out; half of it is kept as margin).
4. The final heads are trained on all training sentences with the chosen settings.

Embeddings are cached under ``out/text/`` (not committed): about 30 s of MiniLM on one core.

Run ``python scripts/train_text_heads.py`` and copy the printed thresholds into
``TextRiskClassifier.default_thresholds`` (a test checks they agree with the file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from childsafe.classifiers.text import synth
from childsafe.classifiers.text.embedder import get_embedder
from childsafe.classifiers.text.features import (
    PATTERN_FEATURES,
    analyse,
    assemble,
    feature_names,
    pattern_fingerprint,
)
from childsafe.classifiers.text.heads import FORMAT_VERSION, Heads, train_heads
from childsafe.classifiers.text.risk import HEAD_LABELS, HEADS_PATH, combine_risk

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "out" / "text" / "train-embeddings.npz"
FOLDS = 5
L2_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
PATTERN_PENALTY_GRID = (1.0, 0.1, 0.01)
RISK_FPR_BENIGN_CHILD = 0.005
# Which slot decides a sentence's fold: the first of these it uses, else its frame.
GROUP_SLOTS = (
    "sexual_adj",
    "sexual_thing",
    "lingerie_item",
    "adult_content",
    "child",
    "children",
    "teen",
    "young_child",
    "grade",
    "adult",
    "young_adult",
)


def embed_cached(texts: Sequence[str], cache: Path) -> np.ndarray:
    """MiniLM vectors of ``texts``, reusing ``cache`` (keyed by model version and text)."""
    embedder = get_embedder()
    tag = f"{embedder.model.name}|{embedder.model.version}|"
    keys = [hashlib.sha256((tag + t).encode()).hexdigest()[:32] for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as npz:
            known = dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        started = time.perf_counter()
        vectors = embedder.embed([t for _, t in missing])
        known.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        print(f"embedded {len(missing)} texts in {time.perf_counter() - started:.1f} s")
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(known)), vectors=np.array(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


def fold_of(sample: synth.Sample) -> int:
    """The sample's fold, from the first grouping slot it uses (see GROUP_SLOTS)."""
    used = dict(reversed(sample.slots))  # first value of each slot wins
    for slot in GROUP_SLOTS:
        if slot in used:
            return zlib.crc32(f"{slot}={used[slot]}".encode()) % FOLDS
    return zlib.crc32(sample.frame.encode()) % FOLDS


def balanced_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    pos, neg = y > 0.5, y <= 0.5
    return float(-(np.log(p[pos]).mean() + np.log(1 - p[neg]).mean()) / 2)


def penalty(pattern_factor: float, dim: int) -> np.ndarray:
    factor = np.ones(dim)
    factor[-len(PATTERN_FEATURES) :] = pattern_factor
    return factor


def out_of_fold(
    x: np.ndarray,
    targets: Mapping[str, np.ndarray],
    subsets: Mapping[str, np.ndarray],
    folds: np.ndarray,
    settings: Mapping[str, tuple[float, float]],
) -> dict[str, np.ndarray]:
    """Each head's probability for every row, from the model of the folds it is not in."""
    names = feature_names(x.shape[1] - len(PATTERN_FEATURES))
    oof = {label: np.zeros(len(folds)) for label in targets}
    for f in range(FOLDS):
        train, val = folds != f, folds == f
        heads = train_heads(
            x[train],
            {k: v[train] for k, v in targets.items()},
            names,
            l2={k: settings[k][0] for k in targets},
            penalty_factor={k: penalty(settings[k][1], x.shape[1]) for k in targets},
            subsets={k: v[train] for k, v in subsets.items() if k in targets},
        )
        for label, p in heads.predict(x[val]).items():
            oof[label][val] = p
    return oof


def best_threshold(
    y: np.ndarray, p: np.ndarray, *, fpr_mask: np.ndarray | None = None, max_fpr: float = 1.0
) -> tuple[float, float]:
    """(threshold, F1) maximising F1, optionally with FPR on ``fpr_mask`` ≤ ``max_fpr``.

    Among equally good thresholds the middle of the best run is taken, so the operating
    point sits in the gap between classes rather than on its edge.
    """
    best: list[tuple[float, float]] = []
    top = -1.0
    for t in np.round(np.arange(0.02, 0.99, 0.01), 2):
        pred = p >= t
        if fpr_mask is not None and (pred & fpr_mask).sum() > max_fpr * fpr_mask.sum():
            continue
        tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
        f1 = float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0
        if f1 > top + 1e-12:
            top, best = f1, [(float(t), f1)]
        elif abs(f1 - top) <= 1e-12:
            best.append((float(t), f1))
    if not best:
        raise SystemExit("no threshold meets the false-positive constraint")
    return best[len(best) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HEADS_PATH)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--check", action="store_true", help="fail if --out would change")
    args = parser.parse_args(argv)

    samples, spec = synth.training_data()
    analyses = [analyse(s.text) for s in samples]
    vectors = embed_cached([a.normalized.text for a in analyses], args.cache)
    x = assemble(vectors, [a.patterns for a in analyses]).astype(np.float64)
    names = feature_names(vectors.shape[1])
    y = {label: np.array([s.labels()[label] for s in samples]) for label in synth.LABELS}
    targets = {"minor": y["minor"], "sexual": y["sexual"], "same_subject": y["risk"]}
    both = y["minor"] & y["sexual"]
    subsets = {"same_subject": both}
    assert tuple(targets) == HEAD_LABELS
    folds = np.array([fold_of(s) for s in samples])

    settings: dict[str, tuple[float, float]] = {}
    for label in HEAD_LABELS:
        rows = subsets.get(label, np.ones(len(samples), dtype=bool))
        losses = {}
        for reg in L2_GRID:
            for factor in PATTERN_PENALTY_GRID:
                oof = out_of_fold(
                    x, {label: targets[label]}, subsets, folds, {label: (reg, factor)}
                )
                losses[(reg, factor)] = balanced_log_loss(targets[label][rows], oof[label][rows])
        settings[label] = min(losses, key=lambda k: (losses[k], k))
        print(f"{label}: L2, pattern penalty factor -> {settings[label]} "
              f"(out-of-fold log-loss {losses[settings[label]]:.4f})")  # fmt: skip
    oof = out_of_fold(x, targets, subsets, folds, settings)
    scores = {
        "minor": oof["minor"],
        "sexual": oof["sexual"],
        "risk": combine_risk(oof["minor"], oof["sexual"], oof["same_subject"]),
    }
    benign_child = np.array([s.cls == "benign_child" for s in samples])
    thresholds: dict[str, float] = {}
    validation: dict[str, Any] = {}
    for label in synth.LABELS:
        truth = y[label].astype(bool)
        mask = benign_child if label == "risk" else None
        limit = RISK_FPR_BENIGN_CHILD if label == "risk" else 1.0
        t, f1 = best_threshold(truth, scores[label], fpr_mask=mask, max_fpr=limit)
        thresholds[label] = t
        pred = scores[label] >= t
        validation[label] = {"f1": round(f1, 4)}
        if label == "risk":
            rate = float((pred & benign_child).sum() / benign_child.sum())
            validation[label]["fpr_benign_child"] = round(rate, 4)
        print(f"{label}: threshold {t:.2f}, out-of-fold {validation[label]}")

    embedder = get_embedder().model
    spec_hash = synth.spec_sha256(spec)
    patterns_hash = pattern_fingerprint([a.patterns for a in analyses])
    # The version names what determines the weights: the data and the pattern features (the
    # embedder's version is appended by the classifier).
    inputs = hashlib.sha256(f"{spec_hash}:{patterns_hash}".encode()).hexdigest()
    meta = {
        "version": f"{FORMAT_VERSION}.{inputs[:8]}",
        "embedder": {"name": embedder.name, "version": embedder.version},
        "data_spec_sha256": spec_hash,
        "generator_version": synth.GENERATOR_VERSION,
        "pattern_features_sha256": patterns_hash,
        "n_train": len(samples),
        "settings": {k: {"l2": v[0], "pattern_penalty_factor": v[1]} for k, v in settings.items()},
        "thresholds": thresholds,
        "validation": {"method": f"{FOLDS}-fold grouped by vocabulary", **validation},
    }
    heads = train_heads(
        x,
        targets,
        names,
        l2={k: v[0] for k, v in settings.items()},
        penalty_factor={k: penalty(v[1], x.shape[1]) for k, v in settings.items()},
        subsets=subsets,
        meta=meta,
    )
    if args.check:
        tmp = args.out.with_suffix(".check.npz")
        heads.save(tmp)
        same = tmp.read_bytes() == args.out.read_bytes()
        tmp.unlink()
        print("head file reproduced" if same else "head file DIFFERS from a fresh training")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    heads.save(args.out)
    Heads.load(args.out)  # round-trips
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), version {meta['version']}")
    print("default_thresholds =", json.dumps(thresholds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
