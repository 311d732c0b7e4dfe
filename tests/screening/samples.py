"""Test content: the mildest texts that exercise ``text_risk``, benign photos (scikit-image's
samples) and banks built from those photos' hashes."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import skimage.data
from PIL import Image

from childsafe.banks.base import BankStore
from childsafe.banks.importer import import_file
from childsafe.content.base import Item
from childsafe.hashing.api import hash_file
from childsafe.screening.base import ScreenRequest

RISKY = "nsfw picture of a 12 year old"  # the canonical risky prompt
BENIGN = "help my 9 year old with fractions homework"
ADULT = "a sexy lingerie photo shoot"  # adult context alone: LOW priority

Request = Callable[..., ScreenRequest]  # the ``req`` fixture: req(kind, tenant="default", **fields)


@cache
def photo(name: str) -> Image.Image:
    """One of scikit-image's benign sample photos (astronaut, coffee, chelsea …), as RGB."""
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def encoded(name: str, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    photo(name).save(buf, fmt, **options)
    return buf.getvalue()


def bank_photo(store: BankStore, bank: str, name: str, tmp: Path) -> dict[str, str]:
    """Import ``name``'s md5 (of its PNG bytes) and pdq into ``bank``; return those hashes."""
    found = hash_file(Item.from_bytes(encoded(name), id=name), ("md5", "pdq"))
    hashes = {t: found.hashes[t].value for t in ("md5", "pdq")}
    path = tmp / f"{bank}-{name}.txt"
    path.write_text("".join(f"{t} {v}\n" for t, v in hashes.items()))
    import_file(store, bank, path, label="benign-test-image")
    return hashes
