"""The numba PDQ port agrees bit for bit with pdqhash (hash and quality)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from tests.hashing.conftest import photo, ref_dihedral, ref_pdq

from childsafe.hashing import pdq_core
from childsafe.hashing.pdq_core import (
    hamming,
    luma_from_rgb,
    pdq_dihedral_from_luma,
    pdq_from_luma,
    pdq_from_rgb,
)

_rng = np.random.default_rng(1234)


def _corpus() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in ("astronaut", "camera", "coffee", "hubble_deep_field", "coins"):
        out[name] = photo(name)
    for w, h in [
        (64, 64),
        (65, 63),
        (127, 129),
        (1001, 777),
        (2000, 37),
        (37, 2000),
        (5, 5),
        (6, 400),
    ]:
        out[f"chelsea-{w}x{h}"] = photo("chelsea", (w, h))
    out["tiny-1x1"] = np.zeros((1, 1, 3), np.uint8)
    out["tiny-3x5"] = _rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    out["tiny-4x90"] = _rng.integers(0, 256, (4, 90, 3), dtype=np.uint8)
    out["noise-64"] = _rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out["noise-333x517"] = _rng.integers(0, 256, (333, 517, 3), dtype=np.uint8)
    out["flat-grey"] = np.full((120, 90, 3), 77, np.uint8)
    out["flat-black"] = np.zeros((300, 300, 3), np.uint8)
    out["flat-white-64"] = np.full((64, 64, 3), 255, np.uint8)
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    out["gradient"] = np.repeat(np.tile(ramp, (480, 1))[..., None], 3, axis=2).astype(np.uint8)
    return out


CORPUS = _corpus()


@pytest.mark.parametrize("name", list(CORPUS))
def test_hash_and_quality_equal_pdqhash(name: str) -> None:
    rgb = CORPUS[name]
    assert pdq_from_rgb(rgb) == ref_pdq(rgb)


@pytest.mark.parametrize("name", list(CORPUS))
def test_dihedral_hashes_equal_pdqhash(name: str) -> None:
    rgb = CORPUS[name]
    assert pdq_dihedral_from_luma(luma_from_rgb(rgb)) == ref_dihedral(rgb)


def test_flat_images_have_quality_zero() -> None:
    assert pdq_from_rgb(CORPUS["flat-grey"])[1] == 0
    assert pdq_from_rgb(CORPUS["tiny-3x5"]) == ("0" * 64, 0)


def test_hex_order_equals_python_threatexchange() -> None:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

    rgb = photo("astronaut")
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    assert pdq_from_rgb(rgb) == pdq_from_bytes(buf.getvalue())


def test_input_is_not_modified() -> None:
    luma = luma_from_rgb(photo("coffee"))
    before = luma.copy()
    pdq_from_luma(luma)
    pdq_dihedral_from_luma(luma)
    assert np.array_equal(luma, before)


def test_non_contiguous_and_float64_input() -> None:
    luma = luma_from_rgb(photo("rocket"))
    view = luma[::-1, ::2]
    assert pdq_from_luma(view) == pdq_from_luma(np.ascontiguousarray(view))
    assert pdq_from_luma(luma.astype(np.float64)) == pdq_from_luma(luma)
    with pytest.raises(ValueError, match="2-D"):
        pdq_from_luma(np.zeros((10, 10, 3), np.float32))


def test_dihedral_variants_track_real_rotations() -> None:
    luma = luma_from_rgb(photo("astronaut"))
    hashes, _ = pdq_dihedral_from_luma(luma)
    turned = [
        np.rot90(luma, 1),
        np.rot90(luma, 2),
        np.rot90(luma, 3),
        luma[::-1],
        luma[:, ::-1],
        luma.T,
        np.rot90(luma, 2).T,
    ]
    for img in turned:
        own = pdq_from_luma(img)[0]
        assert min(hamming(own, h) for h in hashes) <= 16
    assert len(set(hashes)) == 8


def test_hamming() -> None:
    assert hamming("0" * 64, "f" * 64) == 256
    assert hamming("0" * 63 + "3", "0" * 64) == 2


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 140), st.integers(1, 140), st.just(3))))
def test_random_images_equal_pdqhash(rgb: np.ndarray) -> None:
    assert pdq_from_rgb(rgb) == ref_pdq(rgb)
    assert pdq_dihedral_from_luma(luma_from_rgb(rgb)) == ref_dihedral(rgb)


def _grey_rgb(grey: np.ndarray) -> np.ndarray:
    """What pdqhash sees for a grey image (python-threatexchange stacks grey to RGB)."""
    return np.repeat(grey[:, :, None], 3, axis=2)


@pytest.mark.parametrize("name", list(CORPUS))
def test_uint8_luma_equals_pdqhash_on_the_grey_image(name: str) -> None:
    """8-bit input (the fast path's Y channel) takes the exact integer first pass."""
    grey = CORPUS[name][:, :, 1].copy()
    assert pdq_from_luma(grey) == ref_pdq(_grey_rgb(grey))
    assert pdq_dihedral_from_luma(grey) == ref_dihedral(_grey_rgb(grey))


@pytest.mark.parametrize("name", ["astronaut", "chelsea-1001x777", "chelsea-2000x37", "gradient"])
def test_uint8_float_and_integral_float_inputs_agree(name: str) -> None:
    grey = CORPUS[name][:, :, 0].copy()
    as_float = grey.astype(np.float32)
    assert pdq_core._is_grey8(as_float)  # integral float32 takes the integer pass too
    assert pdq_from_luma(grey) == pdq_from_luma(as_float) == pdq_from_luma(grey.astype(np.int64))
    assert pdq_dihedral_from_luma(grey) == pdq_dihedral_from_luma(as_float)


def test_integer_pass_equals_float_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both first row passes give identical bits (forced through each on the same input)."""
    grey = _rng.integers(0, 256, (203, 1301), dtype=np.uint8)
    exact = pdq_core._downsample(grey, True)
    as_float = pdq_core._downsample(grey.astype(np.float32), False)
    assert np.array_equal(exact.view(np.uint32), as_float.view(np.uint32))
    # Past the width limit the integer pass is not used, and hashes do not change.
    before = pdq_from_luma(grey)
    monkeypatch.setattr(pdq_core, "_EXACT_MAX_COLS", 100)
    assert pdq_core._prepare(grey)[1] is False
    assert pdq_from_luma(grey) == before


def test_non_integral_or_out_of_range_float_is_not_treated_as_8_bit() -> None:
    grey = _rng.integers(0, 256, (40, 50)).astype(np.float32)
    for bad in (0.5, -1.0, 256.0, np.nan):
        other = grey.copy()
        other[-1, -1] = bad
        assert not pdq_core._is_grey8(other)
    assert pdq_core._is_grey8(grey)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 300), st.integers(1, 300))))
def test_random_uint8_luma_equals_pdqhash(grey: np.ndarray) -> None:
    assert pdq_from_luma(grey) == ref_pdq(_grey_rgb(grey))
    assert pdq_dihedral_from_luma(grey) == ref_dihedral(_grey_rgb(grey))
