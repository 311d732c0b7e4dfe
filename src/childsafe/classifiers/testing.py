"""The contract every classifier keeps, as a pytest kit (STYLE 19).

Subclass :class:`ClassifierContract` in a ``Test...`` class and provide the fixtures
``classifier`` (the instance under test, model not loaded) and ``good_items`` (items it
scores); override ``bad_items`` with items it must turn into per-item errors (corrupt bytes,
empty text) — never an exception that would abort a batch::

    class TestNSFWContract(ClassifierContract):
        @pytest.fixture
        def classifier(self) -> Classifier:
            return NSFWClassifier()
        ...

What the rest of childsafe relies on: one result per item, in order, even when good and bad
items are mixed; the classifier's name and model (name, version, licence) on every result;
scores in [0, 1]; ``flagged`` is exactly the labels at or over their thresholds; the
thresholds used are recorded; scoring is deterministic; the classifier pickles small before
``setup`` (worker processes receive it) and ``setup`` can run twice.
"""

from __future__ import annotations

import math
import pickle

import pytest

from childsafe.classifiers import registry
from childsafe.classifiers.base import Classifier, ClassifierResult
from childsafe.content.base import Item

MAX_PICKLE_BYTES = 16384


class ClassifierContract:
    """Mix-in of contract tests; see the module docstring for the fixtures it needs."""

    @pytest.fixture
    def bad_items(self) -> list[Item]:
        """Override with items that must come back as per-item errors."""
        return []

    def test_name_is_registered(self, classifier: Classifier) -> None:
        name = classifier.name
        assert name == type(classifier).name
        assert name.isascii() and name.replace("_", "").isalnum() and name == name.lower()
        targets = registry.available(None if name in registry.BUILTINS else [name])
        module, _, attr = targets[name].partition(":")
        assert (type(classifier).__module__, type(classifier).__name__) == (module, attr)

    def test_model_info_is_complete(self, classifier: Classifier) -> None:
        info = classifier.model
        assert info.name and info.version and info.licence

    def test_pickles_small_before_setup(self, classifier: Classifier) -> None:
        blob = pickle.dumps(classifier)
        assert len(blob) < MAX_PICKLE_BYTES, "models must load in setup(), not __init__"
        clone = pickle.loads(blob)
        assert clone.name == classifier.name and clone.thresholds == classifier.thresholds

    def test_empty_batch(self, classifier: Classifier) -> None:
        classifier.setup()
        assert classifier.classify([]) == []

    def test_one_result_per_item_in_order(
        self, classifier: Classifier, good_items: list[Item], bad_items: list[Item]
    ) -> None:
        classifier.setup()
        classifier.setup()  # idempotent
        mixed: list[Item] = []
        for i in range(max(len(good_items), len(bad_items))):
            mixed += good_items[i : i + 1] + bad_items[i : i + 1]
        results = classifier.classify(mixed)
        assert len(results) == len(mixed)
        bad_ids = {id(item) for item in bad_items}
        for item, result in zip(mixed, results, strict=True):
            _check_result(classifier, result)
            if id(item) in bad_ids:
                assert result.error, f"{item.id}: expected a per-item error"
                assert not result.flagged
            else:
                assert result.error is None, f"{item.id}: {result.error}"
                assert result.scores, f"{item.id}: no scores"

    def test_deterministic(self, classifier: Classifier, good_items: list[Item]) -> None:
        classifier.setup()
        first = classifier.classify(good_items)
        again = classifier.classify(good_items)
        for a, b in zip(first, again, strict=True):
            assert a.flagged == b.flagged
            for label, score in a.scores.items():
                assert math.isclose(score, b.scores[label], rel_tol=1e-5, abs_tol=1e-6)

    def test_threshold_zero_flags_every_label(
        self, classifier: Classifier, good_items: list[Item]
    ) -> None:
        if not classifier.default_thresholds:
            pytest.skip("no thresholds to override")
        zero = {label: 0.0 for label in classifier.default_thresholds}
        lenient = type(classifier)(thresholds=zero)
        lenient.setup()
        for result in lenient.classify(good_items[:1]):
            assert set(result.flagged) == set(zero) & set(result.scores)

    def test_unknown_threshold_label_is_refused(self, classifier: Classifier) -> None:
        if not classifier.default_thresholds:
            pytest.skip("no thresholds to override")
        with pytest.raises(ValueError, match="unknown label"):
            type(classifier)(thresholds={"no-such-label": 0.5})


def _check_result(classifier: Classifier, result: ClassifierResult) -> None:
    assert result.classifier == classifier.name
    assert result.model == classifier.model
    assert result.thresholds == classifier.thresholds
    for label, score in result.scores.items():
        assert 0.0 <= score <= 1.0, f"{label}={score} is not a probability"
    expected = {
        label
        for label, score in result.scores.items()
        if label in result.thresholds and score >= result.thresholds[label]
    }
    assert set(result.flagged) == expected
    result.to_dict()  # JSON-able
