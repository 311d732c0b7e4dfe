"""Evaluation plumbing (with the fake embedder, on a tiny corpus) and the F-beta maths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from childsafe.classifiers.conversation.evaluation import (
    VARIANTS,
    CachedEmbedder,
    average_precision,
    evaluate_conversations,
    fbeta,
)
from childsafe.classifiers.conversation.sentinel import SentinelIndex


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "beta", "want"),
    [
        (3, 1, 3, 1.0, 0.6),  # P 0.75, R 0.5
        (3, 1, 3, 0.5, 3.75 / 5.5),
        (3, 1, 3, 3.0, 30 / 58),
        (0, 4, 4, 0.5, 0.0),
        (5, 0, 0, 3.0, 1.0),
    ],
)
def test_fbeta(tp: int, fp: int, fn: int, beta: float, want: float) -> None:
    assert fbeta(tp, fp, fn, beta) == pytest.approx(want)


@pytest.mark.parametrize(
    ("ranked", "want"),
    [
        ([True, True, False], 1.0),
        ([False, True, False, True], (1 / 2 + 2 / 4) / 2),
        ([False, False], 0.0),
        ([], 0.0),
    ],
)
def test_average_precision(ranked: list[bool], want: float) -> None:
    assert average_precision(ranked) == pytest.approx(want)


def test_cached_embedder_embeds_each_text_once(fake_embedder: Any) -> None:
    cached = CachedEmbedder(fake_embedder, ["a b", "c", "a b"])
    assert fake_embedder.calls == 1 and len(cached.table) == 2
    out = cached.embed(["c", "a b", "new text"])
    assert fake_embedder.calls == 2 and out.shape == (3, 32)
    assert (out[1] == fake_embedder.embed(["a b"])[0]).all()


def test_evaluate_conversations_reports_every_variant(
    fake_embedder: Any, fake_index: SentinelIndex
) -> None:
    reports = evaluate_conversations(
        n_benign=12, n_grooming=4, seed=11, embedder=fake_embedder, index=fake_index,
        latency_messages=5,
    )  # fmt: skip
    assert [r.classifier for r in reports] == [f"conversation_risk[{v}]" for v in VARIANTS]
    for report in reports:
        data = report.to_dict()
        json.dumps(data)
        pair, message = report.metrics
        assert (pair.label, message.label) == ("pair", "message")
        assert pair.tp + pair.fn == data["extra"]["n_positive_pairs"] == 4
        assert pair.n == data["extra"]["n_pairs"]
        assert report.n_items == message.n
        assert set(data["extra"]["recall_at_budget"]) == {
            "top_5pct",
            "top_10pct",
            "top_20pct",
            "top_n_positive",
        }
        assert 0.0 <= data["extra"]["pair_f0_5"] <= 1.0
        assert 0.0 < data["extra"]["pair_average_precision"] <= 1.0
        assert report.latency["n"] == 5
        assert any("NOT real-world" in note for note in report.notes)
