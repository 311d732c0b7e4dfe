"""``text_risk`` end to end: the classifier contract, real behaviour on held-out-style prompts
(none of them appears in the training templates), evidence spans, and bad input."""

from __future__ import annotations

import itertools
import json
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.testing import ClassifierContract
from childsafe.classifiers.text import risk
from childsafe.classifiers.text.features import PATTERN_FEATURES, analyse, pairs
from childsafe.classifiers.text.heads import Heads
from childsafe.classifiers.text.risk import (
    LICENCE,
    MODEL_NAME,
    TextRiskClassifier,
    combine_risk,
    score_texts,
    windows,
)
from childsafe.content.base import Item
from childsafe.errors import ConfigError

RISK = [
    # (text, minor term, mild term): each a minor mention combined with one mild term
    ("nsfw picture of a 12 year old", "12 year old", "nsfw"),
    ("sexy schoolgirl outfit on a child", "child", "sexy"),
    ("nude drawing of a ten-year-old boy", "ten-year-old", "nude"),
    ("n.s.f.w pic of a 9yo", "9yo", "n.s.f.w"),
    ("ѕеху photo of a little girl", "little girl", "ѕеху"),  # Cyrillic look-alikes
]
BENIGN_CHILD = [
    "can you help my 9 year old with long division homework",
    "my toddler has a fever of 39, when should I see a pediatrician",
    "tips for getting a 4 year old to sleep through the night",
    "ideas for my daughter's 7th birthday party",
    "my 13 year old son has acne, which cleanser is gentle",
    "what vaccines does a 12 month old baby need",
    "how do I explain puberty to my 10 year old",
]
ADULT_SEXUAL = [
    "nsfw photo of a woman in lingerie",
    "erotic novel for adults",
    "my 25 year old girlfriend in lingerie",
]


@pytest.fixture(scope="module")
def clf() -> TextRiskClassifier:
    c = TextRiskClassifier()
    c.setup()
    return c


class TestTextRiskContract(ClassifierContract):
    @pytest.fixture
    def classifier(self) -> Classifier:
        return TextRiskClassifier()

    @pytest.fixture
    def good_items(self) -> list[Item]:
        texts = [RISK[0][0], BENIGN_CHILD[0], ADULT_SEXUAL[0], "a cat asleep on a sofa"]
        return [Item(id=f"t{i}", text=t) for i, t in enumerate(texts)]

    @pytest.fixture
    def bad_items(self) -> list[Item]:
        return [
            Item(id="none"),
            Item(id="blank", text=" \n\t "),
            Item(id="unread", text="x", error="truncated tar member"),
        ]


@pytest.mark.parametrize(("text", "minor", "mild"), RISK)
def test_risk_is_flagged_with_spans_on_both_terms(
    clf: TextRiskClassifier, text: str, minor: str, mild: str
) -> None:
    (r,) = clf.score_texts([text])
    assert "risk" in r.flagged and r.priority is Priority.HIGH
    spans = {e.detail.split(":")[0]: text[e.start : e.end] for e in r.evidence if e.label == "risk"}
    assert spans == {"minor": minor, "sexual": mild}  # into the ORIGINAL text


@pytest.mark.parametrize("text", BENIGN_CHILD)
def test_benign_child_prompts_are_not_risk(clf: TextRiskClassifier, text: str) -> None:
    (r,) = clf.score_texts([text])
    assert r.flagged == ("minor",) and r.priority is Priority.NONE
    assert r.scores["risk"] < clf.thresholds["risk"] / 2
    assert r.evidence and all(e.label == "minor" and e.detail != "learned head" for e in r.evidence)


@pytest.mark.parametrize("text", ADULT_SEXUAL)
def test_adult_sexual_prompts_flag_sexual_not_risk(clf: TextRiskClassifier, text: str) -> None:
    (r,) = clf.score_texts([text])
    assert "sexual" in r.flagged and "risk" not in r.flagged
    assert r.priority is Priority.LOW


def test_minor_and_adult_term_about_different_subjects_is_not_risk(
    clf: TextRiskClassifier,
) -> None:
    (r,) = clf.score_texts(["how do I block nsfw sites on my 10 year old's tablet"])
    assert {"minor", "sexual"} <= set(r.flagged) and "risk" not in r.flagged
    assert r.details["same_subject"] < 0.5


def test_risk_is_the_product_of_the_factors() -> None:
    np.testing.assert_allclose(combine_risk([0.5, 1.0], [0.5, 0.2], [1.0, 0.5]), [0.25, 0.1])
    (r,) = score_texts([RISK[0][0]])
    expected = r.scores["minor"] * r.scores["sexual"] * r.details["same_subject"]
    assert r.scores["risk"] == pytest.approx(expected, rel=1e-5)


def test_a_batch_scores_like_single_calls(clf: TextRiskClassifier) -> None:
    texts = [t for t, _, _ in RISK] + BENIGN_CHILD[:3]
    batch = clf.score_texts(texts)
    for text, together in zip(texts, batch, strict=True):
        (alone,) = clf.score_texts([text])
        assert alone.flagged == together.flagged
        for label, score in alone.scores.items():
            assert together.scores[label] == pytest.approx(score, abs=1e-4)


def test_score_texts_keeps_order_and_names_positions() -> None:
    results = score_texts(["", RISK[0][0]])
    assert results[0].error == "text[0]: empty text"
    assert "risk" in results[1].flagged


def test_errors_name_the_item(clf: TextRiskClassifier) -> None:
    results = clf.classify(
        [Item(id="a"), Item(id="b", text="   "), Item(id="c", text="ok", error="bad member")]
    )
    assert [r.error for r in results] == ["a: no text", "b: empty text", "c: bad member"]
    assert all(r.scores == {} and r.flagged == () for r in results)


def test_an_embedding_failure_costs_only_its_item(monkeypatch: pytest.MonkeyPatch) -> None:
    c = TextRiskClassifier()
    c.setup()
    real = c._embed

    def fragile(texts: list[str]) -> np.ndarray:
        if any("boom" in t for t in texts):
            raise RuntimeError("tokenizer exploded")
        return real(texts)

    monkeypatch.setattr(c, "_embed", fragile)
    results = c.classify([Item(id=f"i{n}", text=t) for n, t in enumerate([RISK[0][0], "BOOM"])])
    assert results[0].error is None and "risk" in results[0].flagged
    assert results[1].error == "i1: could not score text: RuntimeError: tokenizer exploded"


def test_long_text_is_truncated_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    filler = "we walked the dog along the river and talked about the weather. " * 8
    text = filler[:300] + " " + RISK[0][0]
    short = TextRiskClassifier(max_chars=200)
    (r,) = short.score_texts([text])
    assert r.details["truncated"] is True and r.details["original_length"] == len(text)
    assert r.details["scored_chars"] == 200 and "risk" not in r.flagged
    (full,) = TextRiskClassifier().score_texts([text])
    assert full.details["truncated"] is False and "original_length" not in full.details
    assert "risk" in full.flagged
    monkeypatch.setenv("CHILDSAFE_TEXT_MAX_CHARS", "150")
    assert TextRiskClassifier().max_chars == 150


def test_risk_deep_in_a_long_text_is_found_with_the_right_span(clf: TextRiskClassifier) -> None:
    filler = "a recipe for lentil soup with carrots, onions and cumin, simmered slowly. " * 80
    text = filler + RISK[2][0] + ". " + filler
    (r,) = clf.score_texts([text])
    assert r.details["windows"] > 5 and "risk" in r.flagged
    spans = {text[e.start : e.end] for e in r.evidence if e.label == "risk"}
    assert spans == {"ten-year-old", "nude"}


def test_windows_cover_the_text_with_overlap() -> None:
    assert windows("short") == [0]
    text = "word " * 1000
    starts = windows(text)
    assert starts[0] == 0 and starts[-1] + risk.WINDOW_CHARS >= len(text)
    for a, b in itertools.pairwise(starts):
        assert 0 < b - a < risk.WINDOW_CHARS  # consecutive windows overlap
        assert text[b - 1] == " "  # cut at a space


@pytest.mark.parametrize(
    "text",
    [
        bytes(range(256)).decode("latin-1"),
        bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)).decode(
            "utf-8", errors="replace"
        ),
        b"\xff\xfe\x00\x81 nsfw \xc3".decode("utf-8", errors="surrogateescape"),  # lone surrogates
        "\x00\x01\x02\x1b[31m\u200b\u202e\ufeff\x7f",
        "🔞" * 50,
    ],
)
def test_garbage_decoded_as_text_is_scored_not_crashed(clf: TextRiskClassifier, text: str) -> None:
    (r,) = clf.classify([Item(id="junk", text=text)])
    assert r.error is None and set(r.scores) == {"minor", "sexual", "risk"}
    assert all(0.0 <= s <= 1.0 for s in r.scores.values())
    json.dumps(r.to_dict())
    for e in r.evidence:
        assert e.start is not None and e.end is not None and 0 <= e.start <= e.end <= len(text)


def test_a_megabyte_is_truncated_and_fast(clf: TextRiskClassifier) -> None:
    text = "lorem ipsum dolor sit amet " * 40_000
    started = time.perf_counter()
    (r,) = clf.score_texts([text])
    assert time.perf_counter() - started < 10
    assert r.details["truncated"] is True and r.details["original_length"] == len(text)


def test_learned_head_evidence_when_no_lexicon_pair() -> None:
    lenient = TextRiskClassifier(thresholds={"minor": 0.0, "sexual": 0.0, "risk": 0.0})
    (r,) = lenient.score_texts(["a cat asleep on a sofa"])
    (evidence,) = [e for e in r.evidence if e.label == "risk"]
    assert (evidence.detail, evidence.start, evidence.end) == ("learned head", 0, 22)


def test_model_info_names_heads_and_embedder(clf: TextRiskClassifier) -> None:
    info = clf.model
    heads = Heads.load(risk.HEADS_PATH)
    assert info.name == MODEL_NAME and info.licence == LICENCE
    assert info.version.startswith(heads.version + "+minilm-")


def test_pickled_classifier_scores_the_same(clf: TextRiskClassifier) -> None:
    clone = pickle.loads(pickle.dumps(clf))
    (a,) = clf.score_texts([RISK[1][0]])
    (b,) = clone.score_texts([RISK[1][0]])
    assert a.scores == pytest.approx(b.scores)


def test_threshold_overrides_apply(clf: TextRiskClassifier) -> None:
    strict = TextRiskClassifier(thresholds={"risk": 1.0, "sexual": 1.0})
    (r,) = strict.score_texts([ADULT_SEXUAL[0]])
    assert r.thresholds["risk"] == 1.0 and "risk" not in r.flagged
    assert r.thresholds["minor"] == clf.thresholds["minor"]


def test_heads_for_another_embedder_are_refused(tmp_path: Path) -> None:
    heads = Heads.load(risk.HEADS_PATH)
    other = Heads(
        heads.labels,
        heads.feature_names,
        heads.weights,
        heads.bias,
        {**heads.meta, "embedder": {"name": "some/other-model", "version": "1"}},
    )
    path = tmp_path / "other.npz"
    other.save(path)
    with pytest.raises(ConfigError, match="trained on 'some/other-model'"):
        TextRiskClassifier(heads_path=path).setup()
    with pytest.raises(ConfigError, match="heads missing"):
        TextRiskClassifier(heads_path=tmp_path / "absent.npz").setup()


@pytest.mark.parametrize(
    ("text", "near"),
    [
        ("nsfw picture of a 12 year old", True),
        ("erotic photos, nsfw videos and more of a 12 year old", True),
        ("my 12 year old went to bed early, then I read erotica", False),
        ("my 12 year old is at camp. Tonight: lingerie shopping", False),
        ("my 12 year old " + "and the neighbours " * 5 + "watched a sexy film", False),
    ],
)
def test_pairs_link_only_a_minor_and_a_mild_term_in_one_clause(text: str, near: bool) -> None:
    a = analyse(text)
    linked = pairs(text, a.signals)
    assert linked and linked[0].near is near
    features = dict(zip(PATTERN_FEATURES, a.patterns, strict=True))
    assert (features["near_pair"] > 0) is near and (features["far_pair"] > 0) is not near
