"""What an adapter may send: checked locally first, and no more than the vendor needs.

Every item is validated *before* any network call, so a corrupt file costs no quota and
never reaches a third party: images are fully decoded here (truncated, hostile or huge files
become per-item errors from :mod:`childsafe.content.image`), texts are checked for content.

Images sent to general moderation vendors (OpenAI, Hive) are re-encoded from the decoded
pixels as JPEG: EXIF (GPS position, device serials) stays home, the orientation is already
applied, formats the vendor does not read (BMP, TIFF) still work, and the long side is capped
so uploads stay small. Hash-matching vendors (Safer) get the original bytes instead, because
a re-encode would defeat exact-hash matching against known material.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from childsafe.content.base import Item
from childsafe.content.image import decode_rgb
from childsafe.errors import ContentTooLarge, CorruptContent, UnsupportedContent

_MIME = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


@dataclass(frozen=True, slots=True)
class Upload:
    """Image bytes ready to send, with the MIME type they are."""

    data: bytes
    mime: str

    @property
    def filename(self) -> str:
        return "image." + self.mime.rsplit("/", 1)[1]


@dataclass(frozen=True, slots=True)
class Text:
    """The text an adapter scores: the first ``max_chars`` of the item's text."""

    text: str
    original_chars: int

    @property
    def truncated(self) -> bool:
        return len(self.text) < self.original_chars

    def details(self) -> dict[str, int | bool]:
        return {
            "chars_scored": len(self.text),
            "chars_total": self.original_chars,
            "truncated": self.truncated,
        }


def is_text_item(item: Item) -> bool:
    """Items without content but with text are texts; everything with content is an image."""
    return not item.has_content and item.text is not None


def prepare_text(item: Item, *, max_chars: int) -> Text:
    """The text to send; an empty or whitespace-only text is an error, not a request."""
    text = item.text or ""
    if not text.strip():
        raise CorruptContent(f"{item.id}: empty text")
    return Text(text[:max_chars], len(text))


def prepare_image(
    item: Item,
    *,
    max_pixels: int,
    max_bytes: int,
    reencode: bool,
    max_side: int = 2048,
    quality: int = 90,
) -> Upload:
    """Decode ``item`` to prove it is an image, then the bytes to upload (see module doc)."""
    if not item.has_content:
        raise UnsupportedContent(f"{item.id}: no content to classify (hashes only)")
    if not reencode:
        # Checked before decoding: the original bytes are what would be sent.
        size = item.size()
        if size > max_bytes:
            raise ContentTooLarge(
                f"{item.id}: {size} bytes is over the {max_bytes}-byte upload limit"
            )
    rgb = decode_rgb(item, max_pixels=max_pixels)
    if reencode:
        im = Image.fromarray(rgb)
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        upload = Upload(buf.getvalue(), "image/jpeg")
    else:
        data = b"".join(item.chunks(max_bytes))
        upload = Upload(data, _sniff_mime(data))
    if len(upload.data) > max_bytes:
        raise ContentTooLarge(
            f"{item.id}: {len(upload.data)} bytes to upload is over the {max_bytes}-byte limit"
        )
    return upload


def _sniff_mime(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MIME:
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


def spans(text: str, size: int) -> list[tuple[int, int]]:
    """Cut ``text`` into pieces of at most ``size`` characters, at whitespace where possible.

    Vendors cap one text request (Hive: 1,024 characters); the spans index the original text
    so evidence can point at the piece that scored.
    """
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = text.rfind(" ", start + size // 2, end)
            if cut > start:
                end = cut + 1
        out.append((start, end))
        start = end
    return out
