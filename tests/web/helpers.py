"""Test content and checks shared by the web tests (benign photos, the mildest texts)."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from typing import Any

import skimage.data
from PIL import Image

RISKY = "nsfw picture of a 12 year old"  # the canonical risky prompt (mild, non-graphic)
BENIGN = "help my 9 year old with fractions homework"

Headers = dict[str, str]
KeyMaker = Callable[..., Headers]  # the ``keys`` fixture: keys(tenant, *scopes)


@cache
def photo_png(name: str = "astronaut", size: int = 256) -> bytes:
    """A benign scikit-image sample photo as PNG bytes."""
    img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def error_of(response: Any) -> dict[str, str]:
    """The ``error`` object of an error response, checking the one shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]
