from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from childsafe.classifiers.base import Classifier, Priority
from childsafe.classifiers.image import _decode
from childsafe.classifiers.image.age import FaceAge, FaceAgeClassifier, summarise
from childsafe.classifiers.image.nsfw import NSFWClassifier
from childsafe.classifiers.image.risk import ImageRiskClassifier, assess, risk_score
from childsafe.classifiers.testing import ClassifierContract
from childsafe.content.base import Item


@pytest.fixture(scope="module")
def loaded() -> Iterator[ImageRiskClassifier]:
    clf = ImageRiskClassifier()
    clf.setup()
    yield clf


class TestImageRiskContract(ClassifierContract):
    @pytest.fixture
    def classifier(self, loaded: ImageRiskClassifier) -> Classifier:
        return loaded


def face(age: int, box: tuple[int, int, int, int] = (10, 10, 90, 90)) -> FaceAge:
    """A face whose age network put all its mass on ``age``."""
    probs = np.zeros(81)
    probs[age] = 1.0
    return summarise(probs, box)


CHILD, TEEN, ADULT = face(7), face(19), face(40)


@pytest.mark.parametrize(
    ("nsfw", "faces", "priority"),
    [
        (0.9, [CHILD], Priority.HIGH),
        (0.9, [TEEN], Priority.HIGH),  # uncertain age counts as possibly a minor
        (0.9, [ADULT, CHILD], Priority.HIGH),
        (0.9, [ADULT], Priority.MEDIUM),  # adult-content review
        (0.9, [], Priority.MEDIUM),  # no face: age unknown
        (0.5, [CHILD], Priority.MEDIUM),
        (0.5, [TEEN], Priority.MEDIUM),
        (0.5, [ADULT], Priority.LOW),
        (0.5, [], Priority.LOW),
        (0.1, [CHILD], Priority.NONE),  # a child in a family photo is not a risk
        (0.1, [], Priority.NONE),
    ],
)
def test_priority_rule(nsfw: float, faces: list[FaceAge], priority: Priority) -> None:
    a = assess(nsfw, faces)
    assert a.priority is priority
    assert bool(a.reasons) == (priority is not Priority.NONE)


def test_reasons_name_the_faces_that_may_be_minors() -> None:
    (reason,) = assess(0.93, [ADULT, CHILD]).reasons
    assert reason == "nudity high (P(nsfw)=0.93); face 2 minor_likely"
    (reason,) = assess(0.93, []).reasons
    assert "no face found" in reason
    (reason,) = assess(0.93, [ADULT]).reasons
    assert "only adult-likely faces" in reason


def test_risk_score_combination() -> None:
    assert risk_score(0.9, [CHILD]) == pytest.approx(0.9)
    assert risk_score(0.9, [TEEN]) == pytest.approx(0.9)
    assert risk_score(0.9, []) == 0.0
    adult = FaceAge((0, 0, 1, 1), p_minor=0.04, expected_age=38, interval=(30, 45), band="x")
    assert risk_score(0.9, [adult]) == pytest.approx(0.036)  # P(<18) of adult-like faces
    assert assess(0.9, [ADULT, CHILD]).scores == {
        "nsfw": 0.9,
        "minor": 1.0,
        "risk": pytest.approx(0.9),
    }


def test_risk_is_flagged_exactly_when_the_high_rule_fires() -> None:
    clf = ImageRiskClassifier()
    ages = [face(a) for a in (4, 12, 15, 17, 20, 24, 27, 35, 60)]
    for nsfw in np.linspace(0, 1, 21):
        for faces in itertools.chain([[]], ([f] for f in ages), itertools.combinations(ages, 2)):
            result = clf.result(float(nsfw), list(faces))
            assert ("risk" in result.flagged) == (result.priority is Priority.HIGH), (nsfw, faces)


def test_risk_threshold_follows_nsfw_unless_given() -> None:
    assert ImageRiskClassifier({"nsfw": 0.6}).thresholds["risk"] == 0.6
    assert ImageRiskClassifier({"nsfw": 0.6, "risk": 0.9}).thresholds["risk"] == 0.9
    clf = ImageRiskClassifier({"nsfw": 0.6, "minor": 0.3})
    assert clf.nsfw.thresholds == {"nsfw": 0.6}
    assert clf.face_age.thresholds == {"minor": 0.3}
    result = clf.result(0.65, [CHILD])
    assert result.priority is Priority.HIGH and "risk" in result.flagged


def test_result_carries_reasons_and_face_evidence() -> None:
    result = ImageRiskClassifier().result(0.95, [ADULT, CHILD])
    assert set(result.flagged) == {"nsfw", "minor", "risk"}
    labels = [e.label for e in result.evidence]
    assert labels == ["risk", "nsfw", "minor", "minor"]
    assert result.evidence[3].box == CHILD.box and "minor_likely" in result.evidence[3].detail
    assert result.details["nsfw_band"] == "high" and result.details["n_faces"] == 2
    result.to_dict()


def test_each_image_is_decoded_once(
    loaded: ImageRiskClassifier, good_items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = _decode.decode_rgb_reduced

    def counting(item: Item, *, max_pixels: int, min_side: int) -> Any:
        calls.append(item.id)
        return real(item, max_pixels=max_pixels, min_side=min_side)

    monkeypatch.setattr(_decode, "decode_rgb_reduced", counting)
    results = loaded.classify(good_items)
    assert len(results) == len(good_items)
    assert calls == [item.id for item in good_items]


def test_benign_photos_composed_equal_the_parts(
    loaded: ImageRiskClassifier, good_items: list[Item]
) -> None:
    nsfw = NSFWClassifier()
    faces = FaceAgeClassifier()
    combined = loaded.classify(good_items)
    for c, n, f in zip(
        combined, nsfw.classify(good_items), faces.classify(good_items), strict=True
    ):
        assert c.scores["nsfw"] == pytest.approx(n.scores["nsfw"], abs=1e-6)
        assert c.scores["minor"] == pytest.approx(f.scores["minor"], abs=1e-6)
        assert c.details["faces"] == f.details["faces"]
        assert c.priority is Priority.NONE and not c.flagged  # benign: nothing to review
    assert combined[0].details["n_faces"] == 1  # the astronaut


def test_bad_items_name_the_item(loaded: ImageRiskClassifier, bad_items: list[Item]) -> None:
    for item, result in zip(bad_items, loaded.classify(bad_items), strict=True):
        assert result.error and result.error.startswith(item.id), result.error
        assert result.priority is Priority.NONE and not result.scores


def test_model_info_names_both_models() -> None:
    info = ImageRiskClassifier().model
    assert "open_nsfw" in info.name and "age-v1" in info.name
    assert "BSD-2-Clause" in info.licence and "CC0-1.0" in info.licence
