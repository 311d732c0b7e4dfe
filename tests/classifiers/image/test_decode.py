from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from childsafe.classifiers.image import _decode
from childsafe.classifiers.image._decode import (
    DecodedImage,
    Undecodable,
    decode_item,
    decode_items,
    runtime_limits,
)
from childsafe.content.base import Item


def test_good_items_decode_to_upright_rgb(good_items: list[Item], images: Any) -> None:
    decoded = decode_items(good_items)
    assert all(isinstance(d, DecodedImage) for d in decoded)
    first = decoded[0]
    assert isinstance(first, DecodedImage)
    np.testing.assert_array_equal(first.rgb, images.photo("astronaut"))
    assert (first.width, first.height, first.item_id) == (512, 512, "astronaut.png")
    grey = decoded[3]
    assert isinstance(grey, DecodedImage) and grey.rgb.shape == (512, 512, 3)  # camera.jpg


def test_the_pillow_view_is_made_once_and_matches(good_items: list[Item]) -> None:
    decoded = decode_item(good_items[0])
    assert isinstance(decoded, DecodedImage)
    view = decoded.pil()
    assert view is decoded.pil()
    assert view.mode == "RGB" and view.size == (512, 512)
    np.testing.assert_array_equal(np.asarray(view), decoded.rgb)


def test_bad_items_become_messages_naming_them(bad_items: list[Item]) -> None:
    decoded = decode_items(bad_items)
    assert all(isinstance(d, Undecodable) for d in decoded)
    messages = [d.message for d in decoded if isinstance(d, Undecodable)]
    for item, message in zip(bad_items, messages, strict=True):
        assert message.startswith(item.id), message
    corrupt, truncated, text, bomb, empty = messages
    assert "cannot decode image" in corrupt
    assert "cannot decode image" in truncated
    assert "not an image" in text
    assert "pixel limit" in bomb
    assert "no content" in empty


def test_the_pixel_limit_is_the_callers(images: Any) -> None:
    item = Item.from_bytes(images.encode(images.photo("coffee")), id="coffee.png")
    assert isinstance(decode_item(item, max_pixels=600 * 400), DecodedImage)
    refused = decode_item(item, max_pixels=600 * 400 - 1)
    assert isinstance(refused, Undecodable) and "pixel limit" in refused.message


def test_a_readers_error_is_kept() -> None:
    item = Item(id="shard-3/a.jpg", error="truncated tar member")
    assert decode_item(item) == Undecodable("shard-3/a.jpg: truncated tar member")
    named = Item(id="b.jpg", error="b.jpg: path escapes the archive")
    assert decode_item(named) == Undecodable("b.jpg: path escapes the archive")


def test_an_unexpected_decoder_failure_is_still_a_per_item_error(
    good_items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(item: Item, *, max_pixels: int, min_side: int) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_decode, "decode_rgb_reduced", broken)
    assert decode_item(good_items[0]) == Undecodable(
        "astronaut.png: cannot decode image: RuntimeError: boom"
    )


def test_runtime_limits_come_from_settings_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHILDSAFE_MODEL_THREADS", "3")
    monkeypatch.setenv("CHILDSAFE_MAX_IMAGE_PIXELS", "1234")
    assert runtime_limits(None, None) == (3, 1234)
    assert runtime_limits(2, None) == (2, 1234)
    assert runtime_limits(None, 99) == (3, 99)


def test_a_large_jpeg_decodes_reduced_and_keeps_its_full_size() -> None:
    """A 4096-pixel JPEG is DCT-scaled (both sides stay >= 1024); its full size is kept so
    face boxes are reported in the file's pixels. A PNG always decodes in full."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (3072, 4096, 3), dtype=np.uint8))
    jpeg, png = io.BytesIO(), io.BytesIO()
    img.save(jpeg, "JPEG")
    img.resize((2048, 1536)).save(png, "PNG")
    big = decode_item(Item.from_bytes(jpeg.getvalue(), id="big.jpg"))
    assert isinstance(big, DecodedImage)
    assert (big.width, big.height) == (2048, 1536) and big.full_size == (4096, 3072)
    assert (big.full_width, big.full_height) == (4096, 3072)
    full = decode_item(Item.from_bytes(png.getvalue(), id="full.png"))
    assert isinstance(full, DecodedImage) and (full.width, full.full_width) == (2048, 2048)
