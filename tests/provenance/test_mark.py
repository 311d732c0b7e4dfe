"""mark_image + verify: both marks round trip, what each survives, and bad input never raises."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from childsafe.errors import UnsupportedContent
from childsafe.provenance.base import TRAINED_ALGORITHMIC_MEDIA, GenerationClaim
from childsafe.provenance.c2pa_manifest import Signer
from childsafe.provenance.certs import DevChain
from childsafe.provenance.mark import mark_image, verify
from childsafe.provenance.watermark import payload_for

Photo = Callable[..., np.ndarray]
Encoder = Callable[..., bytes]


def _edit_png_pixel() -> Callable[[bytes], bytes]:
    path = Path(__file__).with_name("test_c2pa_manifest.py")
    spec = importlib.util.spec_from_file_location("_provenance_test_c2pa", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.edit_png_pixel  # type: ignore[no-any-return]


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg")])
def test_both_marks_round_trip(
    photo: Photo, signer: Signer, claim: GenerationClaim, fmt: str, mime: str
) -> None:
    marked = mark_image(Image.fromarray(photo("astronaut")), claim=claim, signer=signer, fmt=fmt)
    assert marked.mime == mime
    assert marked.watermark_payload == payload_for(hashlib.sha256(b"req-42").digest()[:4])
    report = verify(marked.data, source=f"out.{fmt}")
    assert report.errors == [] and report.notes == []
    assert report.mime == mime
    assert report.watermark_found and report.watermark_id == marked.watermark_id
    assert report.c2pa_present and report.c2pa_valid and report.c2pa_trusted is None
    assert report.manifest_label == marked.manifest_label
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.ai_generated and report.marked
    assert Image.open(io.BytesIO(marked.data)).size == (288, 256)


def test_watermark_only_and_manifest_only(
    photo: Photo, signer: Signer, claim: GenerationClaim
) -> None:
    img = Image.fromarray(photo("coffee"))
    wm_only = verify(mark_image(img, claim=claim, signer=None).data)
    assert wm_only.watermark_found and not wm_only.c2pa_present and wm_only.ai_generated
    c2pa_only = mark_image(img, claim=claim, signer=signer, watermark=False)
    assert c2pa_only.watermark_payload is None
    report = verify(c2pa_only.data)
    assert not report.watermark_found and report.c2pa_valid and report.ai_generated


def test_random_id_without_a_generation_id(photo: Photo) -> None:
    img = Image.fromarray(photo("chelsea"))
    claim = GenerationClaim("m")
    ids = {mark_image(img, claim=claim, signer=None).watermark_id for _ in range(3)}
    assert len(ids) == 3


def test_resave_strips_the_manifest_but_not_the_watermark(
    photo: Photo, encoder: Encoder, signer: Signer, claim: GenerationClaim
) -> None:
    marked = mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=signer)
    resaved = encoder(Image.open(io.BytesIO(marked.data)), "JPEG", quality=85)
    report = verify(resaved)
    assert not report.c2pa_present
    assert report.watermark_found and report.watermark_id == marked.watermark_id


def test_edited_pixels_fail_c2pa_with_a_reason(
    photo: Photo, signer: Signer, claim: GenerationClaim
) -> None:
    marked = mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=signer)
    report = verify(_edit_png_pixel()(marked.data))
    assert report.c2pa_present and not report.c2pa_valid
    assert any("dataHash.mismatch" in f for f in report.c2pa_failures)
    assert report.errors == []  # the file was checked; the manifest just does not hold
    assert report.watermark_found  # one changed pixel leaves the watermark readable
    assert report.ai_generated  # by the watermark; the invalid manifest does not count


def test_trust_anchors_reach_the_report(
    photo: Photo, signer: Signer, dev_chain: DevChain, claim: GenerationClaim
) -> None:
    marked = mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=signer)
    assert verify(marked.data, trust_anchors=dev_chain.ca).c2pa_trusted is True


@pytest.mark.parametrize("name", ["astronaut", "rocket", "gradient", "noise"])
def test_unmarked_images_report_nothing(photo: Photo, encoder: Encoder, name: str) -> None:
    for fmt in ("PNG", "JPEG"):
        report = verify(encoder(photo(name), fmt))
        assert not report.marked and not report.ai_generated
        assert report.errors == [] and report.c2pa_failures == []


def test_alpha_and_grey_inputs(photo: Photo, claim: GenerationClaim) -> None:
    rgba = Image.fromarray(photo("chelsea")).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.full((256, 288), 200, np.uint8)))
    out = Image.open(io.BytesIO(mark_image(rgba, claim=claim, signer=None).data))
    assert out.mode == "RGBA" and np.asarray(out)[..., 3].min() == 200
    grey = Image.fromarray(photo("chelsea")).convert("L")
    assert verify(mark_image(grey, claim=claim, signer=None).data).watermark_found
    jpeg = mark_image(rgba, claim=claim, signer=None, fmt="jpeg")  # alpha dropped for JPEG
    assert verify(jpeg.data).watermark_found


def test_small_images_need_watermark_false(signer: Signer, claim: GenerationClaim) -> None:
    small = Image.new("RGB", (120, 90), (40, 90, 160))
    with pytest.raises(UnsupportedContent, match=r"tiny\.png: 120x90 is too small"):
        mark_image(small, claim=claim, signer=signer, source="tiny.png")
    marked = mark_image(small, claim=claim, signer=signer, watermark=False)
    report = verify(marked.data)
    assert report.c2pa_valid and report.ai_generated
    assert report.errors == []
    assert any("too small" in n for n in report.notes)  # a skipped check, said so


def test_bad_format_is_refused(photo: Photo, claim: GenerationClaim) -> None:
    with pytest.raises(ValueError, match="fmt"):
        mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=None, fmt="gif")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty file"),
        (b"just some text, not an image", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "cannot decode image|not an image"),
        (bytes(range(256)) * 8, "not an image"),
    ],
    ids=["empty", "text", "png-header-only", "binary"],
)
def test_bad_input_is_a_named_error(data: bytes, match: str) -> None:
    report = verify(data, source="upload-7")
    assert not report.marked and not report.ai_generated
    assert len(report.errors) == 1
    assert "upload-7" in report.errors[0]
    assert __import__("re").search(match, report.errors[0])


def test_truncated_marked_file(photo: Photo, signer: Signer, claim: GenerationClaim) -> None:
    marked = mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=signer)
    report = verify(marked.data[: len(marked.data) // 2], source="cut.png")
    assert report.errors and all("cut.png" in e for e in report.errors)
    assert not report.c2pa_valid


def test_report_to_dict_is_json(photo: Photo, signer: Signer, claim: GenerationClaim) -> None:
    marked = mark_image(Image.fromarray(photo("coffee")), claim=claim, signer=signer)
    record = json.loads(json.dumps(verify(marked.data, source="a.png").to_dict()))
    assert record["source"] == "a.png"
    assert record["watermark_payload"] == marked.watermark_payload.hex()  # type: ignore[union-attr]
    assert record["watermark_id"] == marked.watermark_id
    assert record["ai_generated"] is True and record["c2pa_valid"] is True
    assert record["claim_generator"].startswith("childsafe/")
