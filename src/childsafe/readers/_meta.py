"""Captions and sidecar metadata, mapped the same way by every reader.

Caption decision (non-UTF-8 bytes): the item is kept and scanned by its content and hashes
as usual; the caption is decoded with U+FFFD replacements so text classifiers still see
what is readable, ``extra["caption_error"]`` says where the bad byte was, and
``extra["caption_sha256"]`` is the SHA-256 of the caption's *raw bytes* as stored, so a
finding can be tied to the exact caption even when it was not valid text. ``Item.error``
stays unset: it means "this item could not be scanned", which is not true here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from childsafe.content.base import Provenance

TEXT_EXTS = frozenset({"txt", "text", "caption"})
META_EXTS = frozenset({"json"})
LABEL_EXTS = frozenset({"cls"})
SIDECAR_EXTS = TEXT_EXTS | META_EXTS | LABEL_EXTS

# Metadata keys -> provenance field; first present wins (LAION, webdataset, HF spellings).
URL_KEYS = ("url", "URL", "image_url", "source_url")
CAPTION_KEYS = ("caption", "TEXT", "text", "alt", "description")
LICENCE_KEYS = ("licence", "license", "LICENSE", "LICENCE")
DATE_KEYS = ("crawl_date", "date", "timestamp")


def caption_extra(raw: bytes) -> tuple[str, dict[str, str]]:
    """Decode a caption; returns the text and the ``extra`` entries that describe it."""
    extra = {"caption_sha256": hashlib.sha256(raw).hexdigest()}
    try:
        return raw.decode("utf-8"), extra
    except UnicodeDecodeError as exc:
        extra["caption_error"] = (
            f"caption is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "decoded with U+FFFD replacements"
        )
        return raw.decode("utf-8", "replace"), extra


def first(meta: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first non-empty value among ``keys``, as a string."""
    for key in keys:
        value = meta.get(key)
        if value is not None and value != "":
            return value if isinstance(value, str) else json.dumps(value)
    return None


def apply_json(raw: bytes, prov: Provenance) -> bytes | None:
    """Fold a JSON sidecar into ``prov``; returns the caption bytes it holds, if any.

    A sidecar that is not a JSON object is recorded in ``extra["meta_error"]`` rather than
    failing the item: the media is still scannable without its metadata.
    """
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        prov.extra["meta_error"] = f"sidecar is not valid JSON: {exc}"
        return None
    if not isinstance(meta, dict):
        prov.extra["meta_error"] = "sidecar JSON is not an object"
        return None
    prov.url = prov.url or first(meta, URL_KEYS)
    for keys, name in ((LICENCE_KEYS, "licence"), (DATE_KEYS, "crawl_date")):
        value = first(meta, keys)
        if value is not None:
            prov.extra.setdefault(name, value)
    caption = first(meta, CAPTION_KEYS)
    return caption.encode("utf-8", "surrogatepass") if caption is not None else None


def attach_sidecars(sidecars: dict[str, bytes], prov: Provenance) -> str | None:
    """Fold sidecar contents (keyed by extension) into ``prov``; returns the caption text.

    A ``.txt`` caption wins over a JSON ``caption`` field: in WebDataset shards the ``.txt``
    is the training caption, the JSON its crawl metadata.
    """
    caption: bytes | None = None
    for ext in sorted(sidecars):
        raw = sidecars[ext]
        if ext in META_EXTS:
            from_json = apply_json(raw, prov)
            caption = caption if caption is not None else from_json
        elif ext in LABEL_EXTS:
            prov.extra["cls"] = raw.decode("utf-8", "replace").strip()
    for ext in sorted(sidecars):
        if ext in TEXT_EXTS:
            caption = sidecars[ext]
            break
    if caption is None:
        return None
    text, extra = caption_extra(caption)
    prov.extra.update(extra)
    return text
