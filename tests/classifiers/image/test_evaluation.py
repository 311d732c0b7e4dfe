from __future__ import annotations

from typing import Any

import pytest

from childsafe.classifiers.base import Classifier
from childsafe.classifiers.image import FaceAgeClassifier, ImageRiskClassifier, NSFWClassifier
from childsafe.classifiers.image.evaluation import (
    RECALL_NOTE,
    BenignImage,
    benign_images,
    evaluate_images,
    format_reports,
)
from childsafe.content.base import Item


@pytest.fixture(scope="module")
def trio() -> tuple[Classifier, ...]:
    """The three classifiers, loaded once for the module."""
    models = (NSFWClassifier(), FaceAgeClassifier(), ImageRiskClassifier())
    for model in models:
        model.setup()
    return models


def test_the_benign_set_is_labelled_and_varied() -> None:
    data = benign_images(lfw=3)
    ids = [d.item.id for d in data]
    assert len(ids) == len(set(ids))
    faces = {d.item.id for d in data if d.has_face}
    assert {"astronaut", "astronaut~flip", "lfw-face-0", "lfw-face-2~flip"} <= faces
    assert "lfw-face-3" not in faces  # lfw=3 means faces 0..2
    assert {"coffee~x0.75", "lfw-nonface-0", "shapes-0", "noise-0"} <= set(ids) - faces
    assert all(d.item.kind() == "image" for d in data)


def test_reports_count_false_positives_and_detections(
    images: Any, trio: tuple[Classifier, ...]
) -> None:
    data = [
        BenignImage(Item.from_bytes(images.encode(images.photo("astronaut")), id="a"), True),
        BenignImage(Item.from_bytes(images.encode(images.photo("coffee")), id="c"), False),
        BenignImage(Item.from_bytes(images.encode(images.photo("chelsea")), id="k"), False),
    ]
    nsfw, faces, risk = evaluate_images(data=data, classifiers=trio)
    assert [r.classifier for r in (nsfw, faces, risk)] == ["nsfw", "face_age", "image_risk"]
    assert RECALL_NOTE in nsfw.notes and RECALL_NOTE in risk.notes
    for report in (nsfw, faces, risk):
        assert report.n_items == 3 and report.latency["n"] == 3
        assert report.extra["machine"]["cpus"]
        report.to_dict()
    by_label = {m.label: m for r in (nsfw, faces, risk) for m in r.metrics}
    assert by_label["nsfw"].fp == 0 and by_label["nsfw"].tn == 3
    assert by_label["review"].fp == 0
    face = by_label["face"]
    assert (face.tp, face.fn, face.fp, face.tn) == (1, 0, 0, 2)  # the astronaut, nothing else
    assert by_label["minor"].n == 1  # one adult face was found and judged
    sweep = faces.extra["minor_or_uncertain_fpr_if_uncertain_up_to"]
    assert set(sweep) == {"19", "21", "23", "25"}
    assert list(sweep.values()) == sorted(sweep.values())  # a wider band never calls fewer
    text = format_reports([nsfw, faces, risk])
    assert "face_age" in text and "recall 1.000" in text and "fpr 0.000" in text


def test_a_failing_image_is_reported_not_dropped(images: Any, trio: tuple[Classifier, ...]) -> None:
    good = Item.from_bytes(images.encode(images.photo("coffee")), id="coffee")
    data = [
        BenignImage(good, False),
        BenignImage(Item.from_bytes(b"\x89PNG\r\n\x1a\n", id="x.png"), False),
    ]
    for report in evaluate_images(data=data, classifiers=trio):
        assert report.n_items == 2 and report.latency["n"] == 2
        assert report.metrics[0].n == 1
        (error,) = report.extra["errors"]
        assert error.startswith("x.png: ")
        assert any("could not be scored" in note for note in report.notes)
