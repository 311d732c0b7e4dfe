"""PDQHasher: reference agreement, variants, options."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from tests.hashing.conftest import bits, encode, photo, ref_pdq

from childsafe.content.base import Item
from childsafe.errors import ContentTooLarge, HashFormatError
from childsafe.hashing.pdq import PDQHasher
from childsafe.hashing.pdq_core import luma_from_rgb, pdq_from_luma


def test_reference_mode_equals_threatexchange_on_jpeg() -> None:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

    data = encode(photo("astronaut", (1400, 1000)), "JPEG", quality=85)
    hv = PDQHasher(fast=False).hash_item(Item.from_bytes(data, id="a.jpg"))
    assert (hv.value, hv.quality) == pdq_from_bytes(data)
    assert hv.hash_type == "pdq"


def test_fast_mode_is_close_to_reference() -> None:
    data = encode(photo("astronaut", (2000, 1500)), "JPEG", quality=85)
    fast = PDQHasher().hash_item(Item.from_bytes(data, id="a.jpg"))
    ref, quality = ref_pdq(np.asarray(Image.open(io.BytesIO(data))))
    assert bits(fast.value, ref) <= 16
    assert abs((fast.quality or 0) - quality) <= 10


def test_dihedral_variants_match_a_rotated_copy() -> None:
    rgb = photo("chelsea")
    hv = PDQHasher(trim_borders=False).hash_item(Item.from_bytes(encode(rgb, "PNG"), id="c"))
    assert len(hv.variants) == 7 and hv.value not in hv.variants
    rotated = Item.from_bytes(encode(np.rot90(rgb).copy(), "PNG"), id="r")
    rot = PDQHasher().hash_item(rotated).value
    assert min(bits(rot, v) for v in hv.variants) <= 12
    assert bits(rot, hv.value) > 60


def test_letterboxed_copy_matches_through_trimmed_variant() -> None:
    rgb = photo("coffee")
    padded = np.pad(rgb, ((100, 100), (0, 0), (0, 0)))  # bars 33 % of the height
    original = PDQHasher().hash_item(Item.from_bytes(encode(rgb, "PNG"), id="o"))
    boxed = PDQHasher().hash_item(Item.from_bytes(encode(padded, "PNG"), id="b"))
    assert bits(boxed.value, original.value) > 31
    assert len(boxed.variants) == 15  # 7 dihedrals, then the trimmed image and its 7
    assert bits(boxed.variants[7], original.value) == 0
    assert len(original.variants) == 7  # nothing to trim on the original


def test_mirrored_and_letterboxed_copy_matches_through_trimmed_dihedrals() -> None:
    rgb = photo("coffee")
    original = PDQHasher().hash_item(Item.from_bytes(encode(rgb, "PNG"), id="o"))
    flipped_boxed = np.pad(rgb[:, ::-1], ((60, 60), (0, 0), (0, 0)))
    hv = PDQHasher().hash_item(Item.from_bytes(encode(flipped_boxed, "PNG"), id="fb"))
    assert bits(hv.value, original.value) > 31
    assert min(bits(v, original.value) for v in hv.variants) <= 8
    plain_trim = PDQHasher(dihedral=False).hash_item(
        Item.from_bytes(encode(flipped_boxed, "PNG"), id="p")
    )
    assert min(bits(v, original.value) for v in plain_trim.variants) > 31


def test_options_turn_variants_off() -> None:
    item = Item.from_bytes(encode(np.pad(photo("coffee"), ((99, 99), (0, 0), (0, 0)))), id="x")
    assert PDQHasher(dihedral=False, trim_borders=False).hash_item(item).variants == ()


def test_64x64_primary_is_the_plain_hash() -> None:
    rgb = photo("astronaut", (64, 64))
    hv = PDQHasher().hash_item(Item.from_bytes(encode(rgb, "PNG"), id="s"))
    assert (hv.value, hv.quality) == ref_pdq(rgb)


def test_max_pixels_is_honoured() -> None:
    item = Item.from_bytes(encode(photo("coffee"), "PNG"), id="cap.png")
    with pytest.raises(ContentTooLarge, match=r"cap\.png"):
        PDQHasher(max_pixels=1000).hash_item(item)


def test_distance_is_hamming_and_validates() -> None:
    h = PDQHasher()
    assert h.distance("0" * 64, "F" * 64) == 256
    with pytest.raises(HashFormatError):
        h.distance("0" * 64, "abc")


def test_hash_luma_agrees_with_core() -> None:
    luma = luma_from_rgb(photo("rocket"))
    assert PDQHasher().hash_luma(luma).value == pdq_from_luma(luma)[0]


def test_hash_luma_takes_uint8_and_trims_it_like_float() -> None:
    """The decoder hands 8-bit luma to the hasher; variants (trimmed bars too) must not change."""
    grey = luma_from_rgb(photo("coffee")).round().astype(np.uint8)
    boxed = np.pad(grey, ((60, 60), (0, 0)), constant_values=0)
    h = PDQHasher()
    assert h.hash_luma(boxed) == h.hash_luma(boxed.astype(np.float32))
    assert len(h.hash_luma(boxed).variants) > 7  # the trimmed image's hashes are there


def test_jpeg_fast_path_hands_uint8_luma_to_pdq() -> None:
    from childsafe.content.image import decode_luma

    item = Item.from_bytes(encode(photo("astronaut", (1400, 1000)), "JPEG"), id="a.jpg")
    grey = decode_luma(item, max_pixels=10**8, keep_uint8=True)
    assert grey.dtype == np.uint8
    assert np.array_equal(grey, decode_luma(item, max_pixels=10**8))
    assert PDQHasher().hash_item(item) == PDQHasher().hash_luma(grey.astype(np.float32))
