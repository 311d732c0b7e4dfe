"""Read a ``.safetensors`` header without touching the weights.

Why only the header: a hosted model is often gigabytes, and everything a reviewer needs to
triage it (tensor names that say "this is a LoRA", the kohya-ss training metadata, the
``modelspec`` title and trigger words) sits in a small JSON header at the front of the file.
The format is: 8 bytes, little-endian unsigned length ``n``; ``n`` bytes of UTF-8 JSON (an
object: tensor name → ``{"dtype", "shape", "data_offsets"}``, plus an optional
``"__metadata__"`` object of string → string); then the raw tensor bytes. We read 8 + ``n``
bytes and stop, so a 40 GB checkpoint costs the same as a 40 kB LoRA.

Why the checks: the file is untrusted upload. The declared length is bounded (a hostile
8-byte prefix must not make us allocate terabytes), the JSON must be an object, and every
failure is a :class:`~childsafe.errors.CorruptContent` / :class:`~childsafe.errors.ContentTooLarge`
naming the file, so a batch turns it into one error row and goes on. Oddities that do not stop
us reading the metadata (an unknown dtype, a data region shorter than declared, a metadata
value that is not a string) become ``warnings`` on the result instead: a scanner should still
look at the names and tags of a damaged or truncated upload.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from childsafe.errors import ContentTooLarge, CorruptContent

__all__ = [
    "DTYPE_BYTES",
    "MAX_HEADER_BYTES",
    "SafetensorsHeader",
    "TensorInfo",
    "decode_json_value",
    "parse_header",
    "read_header",
]

MAX_HEADER_BYTES = 100 * 1024 * 1024
"""The safetensors library's own limit; real headers are kilobytes to a few megabytes."""

DTYPE_BYTES: Mapping[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "I16": 2,
    "F16": 2,
    "BF16": 2,
    "U32": 4,
    "I32": 4,
    "F32": 4,
    "U64": 8,
    "I64": 8,
    "F64": 8,
}


@dataclass(frozen=True, slots=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # data_offsets, relative to the end of the header
    end: int

    @property
    def params(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class SafetensorsHeader:
    """What the header says. ``sha256`` is of the 8-byte prefix and the header bytes: it
    identifies the exact metadata a finding was made from, without reading the weights."""

    path: str
    sha256: str
    header_bytes: int
    file_size: int | None
    tensors: tuple[TensorInfo, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def tensor_count(self) -> int:
        return len(self.tensors)

    @property
    def param_count(self) -> int:
        return sum(t.params for t in self.tensors)

    @property
    def dtypes(self) -> dict[str, int]:
        """dtype → number of tensors of it."""
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.dtype] = out.get(t.dtype, 0) + 1
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "tensor_count": self.tensor_count,
            "param_count": self.param_count,
            "dtypes": self.dtypes,
            "header_bytes": self.header_bytes,
            "file_size": self.file_size,
        }


def read_header(path: str | Path, *, max_header_bytes: int = MAX_HEADER_BYTES) -> SafetensorsHeader:
    """Parse the header of the file at ``path``; reads at most ``8 + max_header_bytes`` bytes."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise CorruptContent(
                    f"{p}: not a safetensors file: {len(prefix)} bytes, need an 8-byte length"
                )
            (n,) = struct.unpack("<Q", prefix)
            _check_length(p, n, max_header_bytes)
            body = f.read(n)
            size = f.seek(0, 2)
    except OSError as exc:
        raise CorruptContent(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(body) < n:
        raise CorruptContent(f"{p}: truncated header: declares {n} bytes, file has {len(body)}")
    return parse_header(prefix + body, name=str(p), file_size=size)


def _check_length(name: object, n: int, limit: int) -> None:
    if n == 0:
        raise CorruptContent(f"{name}: empty safetensors header (length 0)")
    if n > limit:
        raise ContentTooLarge(
            f"{name}: safetensors header declares {n} bytes, over the {limit}-byte limit"
        )


def parse_header(
    data: bytes,
    *,
    name: str = "<bytes>",
    file_size: int | None = None,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> SafetensorsHeader:
    """Parse ``data`` = the 8-byte length and the header JSON (trailing bytes are ignored)."""
    if len(data) < 8:
        raise CorruptContent(f"{name}: not a safetensors file: {len(data)} bytes")
    (n,) = struct.unpack("<Q", data[:8])
    _check_length(name, n, max_header_bytes)
    if len(data) < 8 + n:
        raise CorruptContent(f"{name}: truncated header: declares {n} bytes, got {len(data) - 8}")
    raw = data[8 : 8 + n]
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptContent(f"{name}: header is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CorruptContent(f"{name}: header is not valid JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise CorruptContent(f"{name}: header JSON is nested too deeply") from None
    if not isinstance(doc, dict):
        raise CorruptContent(f"{name}: header is JSON {type(doc).__name__}, not an object")
    warnings: list[str] = []
    metadata = _metadata(name, doc.pop("__metadata__", None), warnings)
    tensors = tuple(_tensor(name, key, spec, warnings) for key, spec in doc.items())
    data_len = max((t.end for t in tensors), default=0)
    if file_size is not None and 8 + n + data_len > file_size:
        warnings.append(
            f"data region truncated: tensors need {data_len} bytes, "
            f"file has {max(file_size - 8 - n, 0)} (weights were not read)"
        )
    return SafetensorsHeader(
        path=name,
        sha256=hashlib.sha256(data[: 8 + n]).hexdigest(),
        header_bytes=n,
        file_size=file_size,
        tensors=tensors,
        metadata=metadata,
        warnings=tuple(warnings),
    )


def _metadata(name: str, raw: object, warnings: list[str]) -> dict[str, str]:
    """``__metadata__`` is string → string by the spec; other values are kept as their JSON
    text with a warning, because refusing the file would hide its names from the scanner."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CorruptContent(f"{name}: __metadata__ is {type(raw).__name__}, not an object")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            out[str(key)] = value
        else:
            warnings.append(f"__metadata__[{key!r}] is {type(value).__name__}, not a string")
            out[str(key)] = json.dumps(value, ensure_ascii=False)
    return out


def _tensor(name: str, key: str, spec: object, warnings: list[str]) -> TensorInfo:
    where = f"{name}: tensor {key!r}"
    if not isinstance(spec, dict):
        raise CorruptContent(f"{where}: entry is {type(spec).__name__}, not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str):
        raise CorruptContent(f"{where}: missing or non-string dtype")
    if not isinstance(shape, list) or not all(_nonneg_int(d) for d in shape):
        raise CorruptContent(f"{where}: shape must be a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_nonneg_int(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise CorruptContent(f"{where}: data_offsets must be [start, end] with start <= end")
    info = TensorInfo(key, dtype, tuple(shape), offsets[0], offsets[1])
    width = DTYPE_BYTES.get(dtype)
    if width is None:
        warnings.append(f"tensor {key!r}: unknown dtype {dtype!r}")
    elif info.params * width != info.end - info.start:
        warnings.append(
            f"tensor {key!r}: {dtype}{list(shape)} needs {info.params * width} bytes, "
            f"offsets span {info.end - info.start}"
        )
    return info


def _nonneg_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def decode_json_value(metadata: Mapping[str, str], key: str) -> tuple[Any, str | None]:
    """A metadata value that is itself JSON text (kohya-ss writes ``ss_tag_frequency`` and
    friends so): ``(value, None)``, ``(None, None)`` when absent, or ``(None, problem)``."""
    raw = metadata.get(key)
    if raw is None or raw.strip() in ("", "None", "null"):
        return None, None
    try:
        return json.loads(raw), None
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, f"{key} is not valid JSON: {getattr(exc, 'msg', type(exc).__name__)}"
