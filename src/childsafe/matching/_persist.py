"""Saving and loading index directories: flat ``.npy`` arrays plus ``meta.json``.

Why this shape: ``.npy`` files memory-map back in milliseconds (a 10M PDQ index is one 320 MB
file), and a small JSON file records what the arrays must look like. Every array's shape,
dtype, file size and CRC-32 are in the meta, so a truncated, swapped or bit-flipped file is
refused with an ``IndexError_`` naming the file, never silently matched against (CRC-32 of
320 MB takes ~0.07 s here, so verification is on by default).

Writes go to a temporary sibling directory that is fsynced and then renamed into place, so a
crash leaves either the old index or the new one. Replacing an existing directory takes two
renames (POSIX cannot rename over a non-empty directory); a reader that lands between them
sees "missing" and rebuilds or retries, never a half-written index.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from childsafe.errors import IndexError_

FORMAT_VERSION = 1


def _crc(arr: np.ndarray) -> int:
    flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
    return zlib.crc32(flat.data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_index_dir(
    path: Path, kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> None:
    """Write ``arrays`` and ``meta`` to directory ``path``, replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        files: dict[str, Any] = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            file = tmp / f"{name}.npy"
            with file.open("wb") as f:
                np.save(f, arr, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            files[name] = {
                "shape": list(arr.shape),
                "dtype": arr.dtype.str,
                "bytes": file.stat().st_size,
                "crc32": _crc(arr),
            }
        doc = {"format": kind, "format_version": FORMAT_VERSION, **meta, "files": files}
        with (tmp / "meta.json").open("w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            old.rmdir()
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_index_dir(
    path: Path, kind: str, names: tuple[str, ...], *, verify: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Memory-map the arrays of an index directory, checking them against its meta.

    Raises ``IndexError_`` saying which file is missing, damaged or of the wrong kind.
    """
    path = Path(path)
    meta_file = path / "meta.json"
    if not path.is_dir():
        raise IndexError_(f"{path}: no index directory here")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexError_(f"{meta_file}: missing (the index was not saved completely)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexError_(f"{meta_file}: damaged ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != kind:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise IndexError_(f"{path}: not a {kind} index (format {found!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise IndexError_(
            f"{path}: format version {meta.get('format_version')!r}, this childsafe reads "
            f"{FORMAT_VERSION}; rebuild the index"
        )
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        arrays[name] = _read_array(path / f"{name}.npy", meta.get("files", {}).get(name), verify)
    return arrays, meta


def _read_array(file: Path, info: Any, verify: bool) -> np.ndarray:
    if not isinstance(info, dict):
        raise IndexError_(f"{file}: not listed in meta.json")
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise IndexError_(f"{file}: missing") from None
    if size != info.get("bytes"):
        raise IndexError_(f"{file}: {size} bytes, meta.json says {info.get('bytes')} (truncated?)")
    shape = tuple(info.get("shape", ()))
    try:
        # An empty array cannot be memory-mapped; it is tiny, so read it.
        if shape and all(shape):
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        else:
            arr = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexError_(f"{file}: damaged ({exc})") from None
    if arr.shape != shape or arr.dtype.str != info.get("dtype"):
        raise IndexError_(
            f"{file}: holds {arr.dtype.str}{list(arr.shape)}, meta.json says "
            f"{info.get('dtype')}{list(shape)}"
        )
    if verify and _crc(arr) != info.get("crc32"):
        raise IndexError_(f"{file}: checksum mismatch (the file is damaged)")
    # A plain ndarray view of the map: numba kernels take ndarrays, not np.memmap.
    return np.asarray(arr)
