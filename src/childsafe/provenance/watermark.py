"""The invisible watermark: invisible-watermark's ``dwtDctSvd`` method, vectorised.

Why this method. invisible-watermark offers ``dwtDct`` and ``dwtDctSvd`` (its ``rivaGan``
needs PyTorch). Measured on benign photos and generated images (bench/bench_provenance.py,
docs/provenance.md): ``dwtDct`` lost bits on 5 of 8 images *before any attack* and every JPEG
re-encode broke it, while ``dwtDctSvd`` read back exactly through JPEG quality 75. So
``dwtDctSvd`` it is.

Why a re-implementation. The library's ``EmbedDwtDctSvd`` is a Python loop over 4x4 blocks
(90 ms to mark and 40 ms to read a 512x512 image); here the blocks go through one batched SVD.
It also fixes three things in the library's ``encode``: it truncates the marked channel to
``uint8`` (rounding keeps bits at JPEG quality 75 that truncation lost), it lets
out-of-range values wrap around instead of clipping, and it swaps the horizontal and
vertical detail bands when it inverts the wavelet transform (which swaps two pixels of every
2x2 block of the U channel). The algorithm is otherwise the library's, so each side reads the
other's marks (tested against the library when it is installed).

The algorithm. The U (blue-difference) channel goes through a one-level Haar wavelet
transform; its low-frequency band is cut into 4x4 blocks (8x8 pixels), and bit ``k mod n`` of
the payload sets the largest singular value of block ``k`` to ``(q + 1/4) * 36`` for a 0 or
``(q + 3/4) * 36`` for a 1. Reading takes a majority vote over every block carrying a bit,
which is why the mark survives JPEG but not a crop or a resize (the block grid moves) or a
greyscale conversion (U becomes flat). A singular value is unchanged by the orthonormal DCT the
library applies first, so the DCT is skipped. Only U changes: the change is applied to G and B
with the inverse of OpenCV's YUV transform (Y and V stay put), so nothing else is touched.

The payload is :data:`MARKER` (32 bits) + a 32-bit id + an 8-bit check (the low byte of the
CRC-32 of marker and id). A mark is found only when all 32 marker bits match: an unmarked image
reads as noise (or as all zeros when flat), so the chance of a false match is about 2**-32 per
read (no false match in the benchmark). The check byte guards the id, not the finding: heavy
JPEG compression can leave the marker whole and flip an id bit, and a wrong id would join a
mark to the wrong generation, so such an id is reported as unreadable instead.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from childsafe.errors import UnsupportedContent

METHOD = "dwtDctSvd"
# sha256(b"childsafe ai-generated watermark v1")[:4]: balanced bits, unlike ASCII (whose
# top bits are all 0) or the all-zero pattern flat and grey images read as.
MARKER = bytes.fromhex("bd42ccf3")
ID_BYTES = 4
PAYLOAD_BYTES = len(MARKER) + ID_BYTES + 1  # + the check byte
SCALE = 36.0  # the library's default step for the U channel
BLOCK = 4
# invisible-watermark refuses images under 256x256 pixels; a side under 64 leaves too few
# block rows for the vote to mean anything.
MIN_PIXELS = 256 * 256
MIN_SIDE = 64
# Tried when the image as it is carries no mark: they undo a 75 % and a 50 % downscale
# (measured: both then read back exactly). Costs one read each, on unmarked images only.
RESCUE_SCALES: tuple[float, ...] = (4 / 3, 2.0)

# OpenCV's YUV: Y = .299 R + .587 G + .114 B, U = .492 (B - Y) + 128, V = .877 (R - Y) + 128.
_KU, _KV = 0.492, 0.877

RGB = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class WatermarkReading:
    """What one read found: the payload bits as bytes, and how clear the vote was.

    ``confidence`` is the mean over payload bits of ``|2 p - 1|``, ``p`` being the share of
    blocks voting 1: 1.0 on a freshly marked image, near 0 on noise. ``scale`` is the
    rescale factor under which the mark was read (1.0: the image as given).
    """

    payload: bytes
    confidence: float
    scale: float = 1.0

    @property
    def found(self) -> bool:
        """Exact marker match: anything less is treated as no mark."""
        return self.payload[: len(MARKER)] == MARKER

    @property
    def id_ok(self) -> bool:
        """The check byte matches marker and id: the id was read without error."""
        return self.found and self.payload[-1:] == _check(self.payload[:-1])

    @property
    def mark_id(self) -> str | None:
        """The 32-bit id as hex, when the marker matched and the id passed its check."""
        return self.payload[len(MARKER) : -1].hex() if self.id_ok else None


def mark_id_for(generation_id: str) -> bytes:
    """The watermark id of a generation id: its first 4 SHA-256 bytes (a join key, no content)."""
    return hashlib.sha256(generation_id.encode("utf-8")).digest()[:ID_BYTES]


def payload_for(mark_id: bytes) -> bytes:
    """The bytes hidden in the pixels: marker, id and the check byte."""
    if len(mark_id) != ID_BYTES:
        raise ValueError(f"mark id must be {ID_BYTES} bytes, not {len(mark_id)}")
    return MARKER + mark_id + _check(MARKER + mark_id)


def _check(data: bytes) -> bytes:
    return bytes([zlib.crc32(data) & 0xFF])


def check_size(width: int, height: int, what: str = "image") -> None:
    """Refuse images too small to carry the mark, with the reason (not a crash)."""
    if width * height < MIN_PIXELS or min(width, height) < MIN_SIDE:
        raise UnsupportedContent(
            f"{what}: {width}x{height} is too small for the {METHOD} watermark "
            f"(needs at least {MIN_PIXELS} pixels, e.g. 256x256, and sides of {MIN_SIDE}+)"
        )


def embed(rgb: RGB, mark_id: bytes) -> RGB:
    """A marked copy of an ``HxWx3`` uint8 RGB image carrying :func:`payload_for` ``mark_id``."""
    payload = payload_for(mark_id)
    h, w = _shape(rgb)
    check_size(w, h)
    bits = np.unpackbits(np.frombuffer(payload, np.uint8)).astype(np.float64)
    blocks, grid = _blocks(_u_channel(rgb))
    u, s, vt = np.linalg.svd(blocks)
    want = bits[np.arange(len(blocks)) % bits.size]
    s0 = s[:, 0]
    target = (np.floor(s0 / SCALE) + 0.25 + 0.5 * want) * SCALE
    # Only the top singular value moves: the block changes by (s0' - s0) u0 v0^T.
    delta = (target - s0)[:, None, None] * (u[:, :, :1] @ vt[:, :1, :])
    d_u = _unblocks(delta, grid, h, w) / 2.0  # a Haar LL change spreads as half to each pixel
    return _shift_u(rgb, d_u)


def read(rgb: RGB) -> WatermarkReading:
    """The payload an image carries at its own size (noise if it carries none)."""
    h, w = _shape(rgb)
    check_size(w, h)
    blocks, _ = _blocks(_u_channel(rgb))
    s0 = np.linalg.svd(blocks, compute_uv=False)[:, 0]
    votes = (np.mod(s0, SCALE) > SCALE * 0.5).astype(np.float64)
    n_bits = PAYLOAD_BYTES * 8
    slot = np.arange(len(votes)) % n_bits
    share = np.bincount(slot, weights=votes, minlength=n_bits) / np.bincount(slot, minlength=n_bits)
    bits = (share * 255 > 127).astype(np.uint8)  # the library's threshold, kept for parity
    payload = np.packbits(bits).tobytes()
    return WatermarkReading(payload, float(np.mean(np.abs(2 * share - 1))))


def find(
    rgb: RGB, rescales: tuple[float, ...] = RESCUE_SCALES, *, max_pixels: int = 36_000_000
) -> WatermarkReading:
    """Read at the image's size, then (if no mark) upscaled by each of ``rescales``.

    Returns the first reading whose marker matches, else the reading at the original size.
    Upscales over ``max_pixels`` are skipped (memory).
    """
    import cv2

    first = read(rgb)
    if first.found:
        return first
    h, w = rgb.shape[:2]
    for factor in rescales:
        size = (round(w * factor), round(h * factor))
        if size[0] * size[1] > max_pixels:
            continue
        scaled = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC), np.uint8)
        reading = read(scaled)
        if reading.found:
            return WatermarkReading(reading.payload, reading.confidence, factor)
    return first


def _shift_u(rgb: RGB, d_u: npt.NDArray[np.float64]) -> RGB:
    """Add ``d_u`` to every pixel's U, holding Y and V; where B would leave 0..255, hold B instead.

    Holding Y and V means B moves by dU / 0.492 (and G a little against it). On white or
    black areas that pushes B out of range and clipping would erase the change (a white
    background lost half its blocks' bits), so there B is clamped and Y gives way instead:
    R and G move so that U still changes by ``d_u`` with V kept.
    """
    f = rgb.astype(np.float64)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = _KU * (b - y) + d_u
    v = _KV * (r - y)
    b2 = y + u / _KU
    clamped = (b2 < 0) | (b2 > 255)
    b2 = np.clip(b2, 0, 255)
    y2 = np.where(clamped, b2 - u / _KU, y)
    r2 = y2 + v / _KV
    g2 = (y2 - 0.299 * r2 - 0.114 * b2) / 0.587
    out = np.stack([r2, g2, b2], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _shape(rgb: RGB) -> tuple[int, int]:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"want an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    return int(rgb.shape[0]), int(rgb.shape[1])


def _u_channel(rgb: RGB) -> npt.NDArray[np.uint8]:
    """OpenCV's 8-bit U, exactly as invisible-watermark computes it (so marks interoperate)."""
    import cv2

    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)[:, :, 1])


def _blocks(u: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float64], tuple[int, int]]:
    """The Haar LL band's 4x4 blocks in row-major order, and the block grid (rows, cols).

    The LL band is built from the 8-bit channel a quarter at a time, so a read needs about
    3 bytes per pixel beyond the image itself.
    """
    h, w = u.shape[0] // 4 * 4, u.shape[1] // 4 * 4
    x = u[:h, :w]
    ll = x[0::2, 0::2].astype(np.float64)
    ll += x[0::2, 1::2]
    ll += x[1::2, 0::2]
    ll += x[1::2, 1::2]
    ll /= 2.0
    rows, cols = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    cut = ll[: rows * BLOCK, : cols * BLOCK]
    blocks = cut.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)
    return blocks, (rows, cols)


def _unblocks(
    delta: npt.NDArray[np.float64], grid: tuple[int, int], h: int, w: int
) -> npt.NDArray[np.float64]:
    """Block changes back to a full-size per-pixel LL change (zero outside the grid)."""
    rows, cols = grid
    ll = delta.reshape(rows, cols, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(rows * 4, cols * 4)
    out = np.zeros((h, w), np.float64)
    out[: rows * 8, : cols * 8] = np.repeat(np.repeat(ll, 2, axis=0), 2, axis=1)
    return out
