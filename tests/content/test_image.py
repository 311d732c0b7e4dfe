"""Image decoding: reference agreement, every mode, EXIF, and hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import numpy as np
import pdqhash
import pytest
import skimage.data
from PIL import Image, ImageOps

from childsafe.content.base import Item
from childsafe.content.image import (
    FAST_MIN_SIDE,
    _orient,
    decode_luma,
    decode_rgb,
    luma_from_rgb,
)
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent, UnsupportedContent

LIMIT = 50_000_000


@cache
def photo(name: str = "astronaut", size: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.asarray(getattr(skimage.data, name)())
    img = Image.fromarray(arr).convert("RGB")
    if size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(img)


def encode(img: Image.Image | np.ndarray, fmt: str, **kw: object) -> bytes:
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def item(data: bytes, name: str = "img") -> Item:
    return Item.from_bytes(data, id=name)


def pdq_bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def ref_hash(rgb: np.ndarray) -> str:
    vec, _ = pdqhash.compute(np.ascontiguousarray(rgb))
    return f"{int(''.join(map(str, vec)), 2):064x}"


def luma_hash(luma: np.ndarray) -> str:
    from childsafe.hashing.pdq_core import pdq_from_luma

    return pdq_from_luma(luma)[0]


def test_grey_values_are_their_own_pdq_luma() -> None:
    v = np.arange(256, dtype=np.uint8)
    stacked = np.stack([v, v, v], axis=-1)[None]
    assert np.array_equal(luma_from_rgb(stacked)[0], v.astype(np.float32))


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_full_decode_is_exactly_pdqhash_luma(fmt: str) -> None:
    rgb = photo("coffee")
    kw = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(rgb, fmt, **kw)
    assert np.array_equal(decode_rgb(item(data), max_pixels=LIMIT), rgb)
    luma = decode_luma(item(data), max_pixels=LIMIT)
    expected = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)
    assert luma.dtype == np.float32
    assert np.array_equal(luma, expected)


def test_jpeg_full_path_matches_threatexchange() -> None:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

    data = encode(photo("chelsea"), "JPEG", quality=90)
    assert (
        luma_hash(decode_luma(item(data), max_pixels=LIMIT, fast=False))
        == (pdq_from_bytes(data)[0])
    )


def test_fast_path_scales_down_but_keeps_short_side_at_least_fast_min_side() -> None:
    big = photo("astronaut", (3000, 2100))
    data = encode(big, "JPEG", quality=92)
    luma = decode_luma(item(data), max_pixels=LIMIT, fast=True)
    assert FAST_MIN_SIDE <= min(luma.shape) < 2100
    assert luma.shape == (1050, 1500)  # libjpeg 1/2 scale
    assert pdq_bits(luma_hash(luma), ref_hash(np.asarray(Image.open(io.BytesIO(data))))) <= 16
    # Just under twice FAST_MIN_SIDE the photo is decoded at full size.
    data = encode(photo("astronaut", (2400, 1700)), "JPEG", quality=92)
    assert decode_luma(item(data), max_pixels=LIMIT).shape == (1700, 2400)


def test_fast_path_leaves_small_jpegs_at_full_size() -> None:
    data = encode(photo("rocket"), "JPEG")
    assert decode_luma(item(data), max_pixels=LIMIT, fast=True).shape == (427, 640)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fast", [True, False])
def test_exif_orientation_is_applied(orientation: int, fast: bool) -> None:
    upright = photo("astronaut", (1300, 1100))
    store = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    img = Image.fromarray(upright)
    stored = img.transpose(store) if store is not None else img
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=90, exif=exif)
    luma = decode_luma(item(data), max_pixels=LIMIT, fast=fast)
    assert luma.shape[1] / luma.shape[0] == pytest.approx(1300 / 1100, rel=0.01)
    assert pdq_bits(luma_hash(luma), ref_hash(upright)) <= 12


@pytest.mark.parametrize("orientation", range(2, 9))
def test_orient_matches_pillow_exif_transpose(orientation: int) -> None:
    rgb = np.random.default_rng(orientation).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(img))
    assert np.array_equal(_orient(rgb, orientation), expected)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG-grey", "PNG-rgb"])
def test_keep_uint8_returns_the_same_values(orientation: int, fmt: str) -> None:
    """8-bit grey luma comes back as uint8 (oriented on the bytes); RGB luma stays float32."""
    rgb = photo("chelsea", (300, 200))
    img = Image.fromarray(rgb).convert("L") if fmt == "PNG-grey" else Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(img, fmt.split("-")[0], exif=exif)
    as_float = decode_luma(item(data), max_pixels=LIMIT)
    kept = decode_luma(item(data), max_pixels=LIMIT, keep_uint8=True)
    assert kept.dtype == (np.float32 if fmt == "PNG-rgb" else np.uint8)
    assert as_float.dtype == np.float32
    assert np.array_equal(kept, as_float)
    assert kept.shape == ((300, 200) if orientation in (6, 8) else (200, 300))


def test_cmyk_jpeg_decodes_close_to_rgb() -> None:
    rgb = photo("coffee")
    data = encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    for fast in (True, False):
        assert (
            pdq_bits(luma_hash(decode_luma(item(data), max_pixels=LIMIT, fast=fast)), ref_hash(rgb))
            <= 12
        )


def test_16_bit_png_is_scaled_not_clipped() -> None:
    grey8 = photo("camera")[..., 0]
    data = encode(Image.fromarray(grey8.astype(np.uint16) * 257), "PNG")
    im = Image.open(io.BytesIO(data))
    assert im.mode.startswith("I;16")
    luma = decode_luma(item(data), max_pixels=LIMIT)
    assert np.array_equal(luma, grey8.astype(np.float32))


def test_palette_gif_with_transparency_uses_palette_colours_without_warnings() -> None:
    rgb = photo("chelsea")
    pal = Image.fromarray(rgb).quantize(64)
    pal.info["transparency"] = 0
    data = encode(pal, "GIF", transparency=0)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))[..., :3]
    assert np.array_equal(decode_rgb(item(data), max_pixels=LIMIT), expected)
    assert pdq_bits(luma_hash(decode_luma(item(data), max_pixels=LIMIT)), ref_hash(rgb)) <= 20


def test_animated_gif_hashes_its_first_frame() -> None:
    frames = [Image.fromarray(photo(n, (300, 200))).quantize(128) for n in ("rocket", "coffee")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    got = decode_rgb(item(buf.getvalue()), max_pixels=LIMIT)
    assert np.array_equal(got, np.asarray(frames[0].convert("RGB")))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "1"])
def test_other_modes(mode: str) -> None:
    img = Image.fromarray(photo("astronaut")).convert(mode)
    data = encode(img, "PNG")
    rgb = decode_rgb(item(data), max_pixels=LIMIT)
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.uint8
    expected = np.asarray(img.convert("RGB"))
    assert np.array_equal(rgb, expected)


def _png_with_size(w: int, h: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("w", "h"),
    [(20_000, 20_000), (9_000, 11_000), (200_000, 200_000)],
    ids=["over-our-limit", "pillow-warns", "pillow-refuses"],
)
def test_decompression_bomb_is_refused_before_decoding(w: int, h: int) -> None:
    data = _png_with_size(w, h)
    with pytest.raises(ContentTooLarge, match="bomb-item"):
        decode_luma(item(data, "bomb-item"), max_pixels=LIMIT)


def test_bomb_over_pillow_limit_even_when_ours_is_higher() -> None:
    with pytest.raises(ContentTooLarge, match="big-item"):
        decode_rgb(item(_png_with_size(200_000, 200_000), "big-item"), max_pixels=10**12)


def test_pixel_limit_uses_header_size() -> None:
    data = encode(photo("coffee"), "PNG")
    with pytest.raises(ContentTooLarge, match="600x400"):
        decode_rgb(item(data), max_pixels=600 * 400 - 1)
    assert decode_rgb(item(data), max_pixels=600 * 400).shape == (400, 600, 3)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", CorruptContent),
        (bytes(range(256)) * 8, UnsupportedContent),
        (b"hello, world\n", UnsupportedContent),
        (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, CorruptContent),
        (b"\xff\xd8\xff\xe0" + b"\x13" * 500, CorruptContent),
    ],
    ids=["zero-byte", "random", "text", "png-magic-garbage", "jpeg-magic-garbage"],
)
def test_bad_bytes_raise_named_content_errors(data: bytes, error: type[ContentError]) -> None:
    with pytest.raises(error, match="bad-item"):
        decode_luma(item(data, "bad-item"), max_pixels=LIMIT)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "TIFF"])
@pytest.mark.parametrize("fast", [True, False])
def test_truncated_files_are_corrupt(fmt: str, fast: bool) -> None:
    data = encode(photo("coffee"), fmt)
    cut = data[: len(data) // 2]
    with pytest.raises(CorruptContent, match="cut-item"):
        decode_luma(item(cut, "cut-item"), max_pixels=LIMIT, fast=fast)


def test_unreadable_path_is_corrupt(tmp_path: object) -> None:
    missing = Item.from_path(f"{tmp_path}/nope/missing.jpg")
    with pytest.raises(CorruptContent, match=r"missing\.jpg"):
        decode_luma(missing, max_pixels=LIMIT)


def test_path_and_bytes_decode_the_same(tmp_path: object) -> None:
    data = encode(photo("rocket"), "JPEG")
    path = f"{tmp_path}/ünïcødé 写真.jpg"
    with open(path, "wb") as f:  # noqa: PTH123 - plain write of a test file
        f.write(data)
    from_path = decode_luma(Item.from_path(path), max_pixels=LIMIT)
    assert np.array_equal(from_path, decode_luma(item(data), max_pixels=LIMIT))
