"""The dwtDctSvd watermark: round trips, what breaks it, and no false marks on unmarked images."""

from __future__ import annotations

import hashlib
import importlib.util
import io
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from childsafe.errors import UnsupportedContent
from childsafe.provenance import watermark as wm

Photo = Callable[..., np.ndarray]
MARK_ID = bytes.fromhex("0a1b2c3d")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_marker_is_the_documented_derivation() -> None:
    digest = hashlib.sha256(b"childsafe ai-generated watermark v1").digest()
    assert digest[:4] == wm.MARKER
    assert wm.PAYLOAD_BYTES == 9
    payload = wm.payload_for(MARK_ID)
    assert payload[:8] == wm.MARKER + MARK_ID and len(payload) == 9


def test_a_damaged_id_is_found_but_not_trusted() -> None:
    good = wm.payload_for(MARK_ID)
    assert wm.WatermarkReading(good, 1.0).mark_id == MARK_ID.hex()
    flipped_id = good[:5] + bytes([good[5] ^ 0x10]) + good[6:]
    damaged = wm.WatermarkReading(flipped_id, 0.3)
    assert damaged.found and not damaged.id_ok and damaged.mark_id is None
    wrong_marker = bytes([good[0] ^ 1]) + good[1:]
    assert not wm.WatermarkReading(wrong_marker, 0.9).found


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "gradient", "noise"])
def test_round_trip_is_exact_and_invisible(photo: Photo, name: str) -> None:
    rgb = photo(name)
    marked = wm.embed(rgb, MARK_ID)
    assert marked.shape == rgb.shape and marked.dtype == np.uint8
    assert _psnr(rgb, marked) > 38.0  # library's own encoder: ~37-40 dB
    reading = wm.read(marked)
    assert reading.found
    assert reading.payload == wm.payload_for(MARK_ID)
    assert reading.mark_id == MARK_ID.hex()
    assert reading.confidence > 0.8


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket", "gradient", "noise"])
def test_unmarked_images_are_not_detected(photo: Photo, name: str) -> None:
    rgb = photo(name)
    for arr in (rgb, rgb[:, ::-1].copy(), np.ascontiguousarray(rgb.transpose(1, 0, 2))):
        reading = wm.find(arr)
        assert not reading.found
        assert reading.mark_id is None


def test_flat_and_grey_images_read_as_no_mark() -> None:
    flat = np.full((256, 256, 3), 128, np.uint8)
    assert wm.read(flat).payload == bytes(9)  # all zeros, far from the marker
    assert not wm.read(flat).found


def test_survives_jpeg_but_not_greyscale(photo: Photo, encoder: Callable[..., bytes]) -> None:
    marked = wm.embed(photo("coffee"), MARK_ID)
    jpeg = np.asarray(Image.open(io.BytesIO(encoder(marked, "JPEG", quality=85))).convert("RGB"))
    assert wm.read(jpeg).mark_id == MARK_ID.hex()
    grey = np.asarray(Image.fromarray(marked).convert("L").convert("RGB"))
    assert not wm.read(grey).found  # the mark lives in U, which greyscale flattens


def test_rescue_scales_undo_a_downscale(photo: Photo) -> None:
    marked = wm.embed(photo("astronaut", (512, 512)), MARK_ID)
    half = np.asarray(Image.fromarray(marked).resize((256, 256), Image.Resampling.LANCZOS))
    assert not wm.read(half).found
    assert not wm.find(half, rescales=()).found
    reading = wm.find(half)
    assert reading.found and reading.scale == 2.0
    assert reading.mark_id == MARK_ID.hex()


@pytest.mark.parametrize(("w", "h"), [(200, 200), (255, 256), (1200, 40)])
def test_too_small_is_a_clear_error(w: int, h: int) -> None:
    rgb = np.zeros((h, w, 3), np.uint8)
    with pytest.raises(UnsupportedContent, match=rf"{w}x{h} is too small"):
        wm.embed(rgb, MARK_ID)
    with pytest.raises(UnsupportedContent, match="too small"):
        wm.read(rgb)


def test_bad_arguments_are_refused(photo: Photo) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        wm.embed(photo("coffee"), b"\x01")
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        wm.read(np.zeros((256, 256), np.uint8))


def test_mark_id_for_is_a_stable_prefix_of_sha256() -> None:
    assert wm.mark_id_for("req-42") == hashlib.sha256(b"req-42").digest()[:4]
    assert wm.mark_id_for("req-42") != wm.mark_id_for("req-43")


def _library() -> ModuleType:
    """invisible-watermark's dwtDctSvd module, by path (its __init__ imports PyTorch)."""
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("invisible-watermark is not installed")
    pytest.importorskip("pywt")
    path = Path(next(iter(spec.submodule_search_locations))) / "dwtDctSvd.py"
    mod_spec = importlib.util.spec_from_file_location("_imwm_dwtdctsvd", path)
    assert mod_spec is not None and mod_spec.loader is not None
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def test_marks_interoperate_with_invisible_watermark(photo: Photo) -> None:
    lib = _library()
    rgb = photo("chelsea")
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    payload = wm.payload_for(MARK_ID)
    bits = list(np.unpackbits(np.frombuffer(payload, np.uint8)))

    def lib_read(img_rgb: np.ndarray) -> bytes:
        decoded = lib.EmbedDwtDctSvd([], wmLen=72).decode(np.ascontiguousarray(img_rgb[:, :, ::-1]))
        return np.packbits(decoded).tobytes()

    assert lib_read(wm.embed(rgb, MARK_ID)) == payload  # the library reads our mark
    theirs = lib.EmbedDwtDctSvd(bits, wmLen=72).encode(bgr.copy())[:, :, ::-1]
    assert wm.read(np.ascontiguousarray(theirs)).payload == payload  # we read theirs
    assert wm.read(rgb).payload == lib_read(rgb)  # same bits from an unmarked image
