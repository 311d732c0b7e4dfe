"""Item media for reviewers: blurred and greyscale by default, the original only after a reveal.

Decisions (reviewer wellness, and what the law asks of a report):

* **Default view: strong Gaussian blur and greyscale**, downscaled to a thumbnail and
  re-encoded as PNG from pixels only, so no EXIF, ICC profile or comment leaves the server.
  Enough to see that there is a picture and roughly what layout it has; not enough to see it.
* **The original only after a deliberate POST** (a button, never a link or a hover) that
  records the reveal with ``CaseStore.reveal`` first; the store refuses past the daily limit
  and the refusal reaches the reviewer as a page saying so. The record then becomes the
  report's ``fileViewedByEsp``/``exifViewedByEsp``: revealing the file and revealing its
  EXIF are separate records, so the revealed file is re-encoded without its EXIF too.
* **Who never gets media**: auditors, reviewers set to metadata-only, and sessions that
  switched metadata-only on; a reviewer only for a case assigned to them (leads and admins
  for any case of their tenant). Every answer is ``Cache-Control: no-store``.
* **Every decode is bounded** by ``Settings.max_image_pixels`` before pixels are decoded;
  an undecodable or oversized image gets a flat placeholder, never a 500.
"""

from __future__ import annotations

import io
import warnings
from typing import Annotated

from fastapi import APIRouter, Form
from PIL import ExifTags, Image, ImageFilter, ImageOps, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from childsafe.errors import ContentTooLarge, CorruptContent
from childsafe.review.base import Case, CaseItem, Role
from childsafe.web.console.auth import User
from childsafe.web.console.deps import ConsoleDep, Forbidden, ReviewingUser, check_csrf
from childsafe.web.console.render import base_path
from childsafe.web.console.services import ConsoleServices

router = APIRouter()

THUMB = 320
MAX_EXIF_VALUE = 200
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
IMAGE_KINDS = frozenset({"image"})
TEXT_KINDS = frozenset({"text", "conversation"})


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The image, upright, checked against the pixel limit before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            width, height = im.size
            if width * height > max_pixels:
                raise ContentTooLarge(
                    f"image of {width}x{height} pixels is over the {max_pixels} pixel limit"
                )
            im.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptContent(f"image cannot be decoded: {type(exc).__name__}") from None
    return im


def blurred_png(data: bytes, max_pixels: int) -> bytes:
    """A strongly blurred greyscale thumbnail (mode ``L``) as PNG, metadata-free."""
    im = _open(data, max_pixels)
    upright = ImageOps.exif_transpose(im) or im
    grey = upright.convert("L")
    grey.thumbnail((THUMB, THUMB))
    radius = max(8.0, max(grey.size) / 20)
    out = grey.filter(ImageFilter.GaussianBlur(radius))
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()


def revealed_png(data: bytes, max_pixels: int) -> bytes:
    """The image in colour, upright, re-encoded from pixels (EXIF is a separate reveal)."""
    im = _open(data, max_pixels)
    upright = ImageOps.exif_transpose(im) or im
    rgb = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    buf = io.BytesIO()
    rgb.save(buf, "PNG")
    return buf.getvalue()


def exif_fields(data: bytes, max_pixels: int) -> list[tuple[str, str]]:
    """EXIF tags (main and GPS) as (name, value) strings, values cut to a readable length."""
    im = _open(data, max_pixels)
    exif = im.getexif()
    rows: list[tuple[str, str]] = []
    for tag, value in exif.items():
        rows.append((ExifTags.TAGS.get(tag, f"tag {tag}"), _short(value)))
    for tag, value in exif.get_ifd(ExifTags.IFD.Exif).items():
        rows.append((ExifTags.TAGS.get(tag, f"tag {tag}"), _short(value)))
    for tag, value in exif.get_ifd(ExifTags.IFD.GPSInfo).items():
        rows.append((f"GPS {ExifTags.GPSTAGS.get(tag, tag)}", _short(value)))
    return rows


def _short(value: object) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= MAX_EXIF_VALUE else text[:MAX_EXIF_VALUE] + "…"


def placeholder_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (THUMB // 2, THUMB // 2), 128).save(buf, "PNG")
    return buf.getvalue()


def media_case(console: ConsoleServices, user: User, item_id: int) -> tuple[Case, CaseItem]:
    """The item and its case when ``user`` may see its media; ``Forbidden`` saying why not."""
    if user.metadata_only:
        raise Forbidden("you review by hash and metadata only: media is not shown to you")
    item = console.cases.item(user.tenant, item_id)
    case = console.cases.get(user.tenant, item.case_id)
    if user.role == Role.REVIEWER and case.assignee != user.name:
        raise Forbidden(f"case {case.id} is not assigned to you: claim it to see its media")
    if item.evidence_id is None:
        raise Forbidden(f"item {item.id} has no stored content (hashes and metadata only)")
    return case, item


def read_content(console: ConsoleServices, user: User, item: CaseItem) -> bytes:
    assert item.evidence_id is not None
    return console.evidence.read(
        user.tenant, item.evidence_id, actor=user.actor, role=user.role.value
    )


@router.get("/media/{item_id}/blurred")
def blurred(item_id: int, user: ReviewingUser, console: ConsoleDep) -> Response:
    _, item = media_case(console, user, item_id)
    data = read_content(console, user, item)
    try:
        png = blurred_png(data, console.settings.max_image_pixels)
        headers = dict(NO_STORE)
    except (CorruptContent, ContentTooLarge) as exc:
        png = placeholder_png()
        headers = {**NO_STORE, "X-Preview-Problem": str(exc)[:200]}
    return Response(png, media_type="image/png", headers=headers)


@router.get("/media/{item_id}/original")
def original(
    request: Request, item_id: int, user: ReviewingUser, console: ConsoleDep, t: str = ""
) -> Response:
    """The revealed image; only with a fresh grant minted by a recorded file reveal."""
    grant = console.signer.check_grant(user.session, t)
    if grant != (item_id, "file"):
        raise Forbidden("reveal this item first (the Reveal button records who saw it)")
    _, item = media_case(console, user, item_id)
    data = read_content(console, user, item)
    try:
        png = revealed_png(data, console.settings.max_image_pixels)
    except (CorruptContent, ContentTooLarge) as exc:
        return Response(str(exc), status_code=422, media_type="text/plain", headers=NO_STORE)
    return Response(png, media_type="image/png", headers=NO_STORE)


@router.post("/items/{item_id}/reveal")
def reveal(
    request: Request,
    item_id: int,
    user: ReviewingUser,
    console: ConsoleDep,
    csrf: Annotated[str, Form()] = "",
    what: Annotated[str, Form()] = "file",
) -> Response:
    """Record the reveal (refused past the daily limit), then show it for a few minutes."""
    check_csrf(console, user, csrf)
    if what not in ("file", "exif"):
        raise Forbidden(f"unknown reveal {what[:20]!r}: want 'file' or 'exif'")
    case, item = media_case(console, user, item_id)
    console.cases.reveal(user.tenant, item.id, user.name, what)
    token = console.signer.reveal_grant(user.session, item.id, what)
    url = f"{base_path(request)}/cases/{case.id}?show={token}#item-{item.id}"
    return RedirectResponse(url, status_code=303)
