"""Content: items (files, bytes) and safe decoding of images and videos."""

from childsafe.content.base import Item, Provenance, detect_kind

__all__ = ["Item", "Provenance", "detect_kind"]
