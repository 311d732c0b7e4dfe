"""Letterbox/pillarbox trimming: finds real bars, leaves natural photos alone."""

from __future__ import annotations

import numpy as np
import pytest
from tests.hashing.conftest import bits, photo

from childsafe.hashing.borders import trim_uniform_borders
from childsafe.hashing.pdq_core import luma_from_rgb, pdq_from_luma

NATURAL = [
    "astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon",
    "immunohistochemistry", "hubble_deep_field", "page", "text", "brick", "grass", "gravel",
]  # fmt: skip
# "horse" is a black silhouette on a white page: its white margin *is* a uniform border and
# is trimmed, which is harmless for a query-side variant.


def _pad(
    luma: np.ndarray, top: int, bottom: int, left: int, right: int, value: float
) -> np.ndarray:
    return np.pad(luma, ((top, bottom), (left, right)), constant_values=value)


@pytest.mark.parametrize(
    ("pads", "value"),
    [((80, 80, 0, 0), 0.0), ((0, 0, 100, 100), 255.0), ((40, 0, 0, 70), 3.0)],
    ids=["letterbox-black", "pillarbox-white", "asymmetric-near-black"],
)
def test_bars_are_trimmed_exactly(pads: tuple[int, int, int, int], value: float) -> None:
    luma = luma_from_rgb(photo("coffee"))
    padded = _pad(luma, *pads, value)
    trimmed = trim_uniform_borders(padded)
    assert trimmed is not None
    assert trimmed.shape == luma.shape
    assert np.array_equal(trimmed, luma)
    assert bits(pdq_from_luma(trimmed)[0], pdq_from_luma(luma)[0]) == 0
    assert bits(pdq_from_luma(padded)[0], pdq_from_luma(luma)[0]) > 30


def test_noisy_jpeg_like_bars_are_trimmed_close_to_content() -> None:
    luma = luma_from_rgb(photo("astronaut"))
    padded = _pad(luma, 90, 90, 0, 0, 0.0)
    noise = np.random.default_rng(0).normal(0, 2.0, padded.shape).astype(np.float32)
    trimmed = trim_uniform_borders(np.clip(padded + noise, 0, 255))
    assert trimmed is not None
    assert abs(trimmed.shape[0] - 512) <= 6


@pytest.mark.parametrize("name", NATURAL)
def test_natural_photos_are_not_trimmed(name: str) -> None:
    assert trim_uniform_borders(luma_from_rgb(photo(name))) is None


def test_flat_tiny_and_mostly_black_images_are_not_trimmed() -> None:
    assert trim_uniform_borders(np.zeros((300, 400), np.float32)) is None
    assert trim_uniform_borders(np.full((10, 10), 255, np.float32)) is None
    luma = luma_from_rgb(photo("rocket", (60, 40)))
    assert trim_uniform_borders(_pad(luma, 300, 300, 0, 0, 0.0)) is None  # over max_fraction


def test_grey_bars_are_left_alone() -> None:
    luma = luma_from_rgb(photo("coffee"))
    assert trim_uniform_borders(_pad(luma, 60, 60, 0, 0, 128.0)) is None


def test_thin_edge_lines_are_not_bars() -> None:
    luma = luma_from_rgb(photo("chelsea"))
    assert trim_uniform_borders(_pad(luma, 1, 1, 1, 1, 0.0)) is None
