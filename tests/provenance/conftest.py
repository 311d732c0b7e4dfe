"""Benign test images (scikit-image photos, generated patterns) and a development signer."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from skimage import data

from childsafe.provenance.base import GenerationClaim
from childsafe.provenance.c2pa_manifest import Signer
from childsafe.provenance.certs import DevChain, make_dev_chain

RGB = npt.NDArray[np.uint8]
PHOTOS: dict[str, Callable[[], npt.NDArray[np.uint8]]] = {
    "astronaut": data.astronaut,
    "coffee": data.coffee,
    "chelsea": data.chelsea,
    "rocket": data.rocket,
}


def _photo(name: str, size: tuple[int, int] = (288, 256)) -> RGB:
    """A benign photo resized to ``size`` (w, h): small keeps the tests fast."""
    if name == "gradient":
        y, x = np.mgrid[0 : size[1], 0 : size[0]]
        arr = np.dstack([x * 255 // size[0], y * 255 // size[1], (x + y) % 256])
        return arr.astype(np.uint8)
    if name == "noise":
        return np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(PHOTOS[name]()).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


@pytest.fixture(scope="session")
def photo() -> Callable[..., RGB]:
    return _photo


@pytest.fixture(scope="session")
def dev_chain() -> DevChain:
    return make_dev_chain()


@pytest.fixture(scope="session")
def signer(dev_chain: DevChain) -> Signer:
    return Signer.from_pem(dev_chain.chain, dev_chain.key)


@pytest.fixture
def claim() -> GenerationClaim:
    return GenerationClaim("test-diffusion", "1.2", generation_id="req-42")


def encode(arr: RGB | Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    """Encode pixels (no metadata) the way a re-save or screenshot would."""
    img = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


@pytest.fixture(scope="session")
def encoder() -> Callable[..., bytes]:
    return encode
