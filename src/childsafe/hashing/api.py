"""Library entry points: hash one file, or many paths, with any set of hashers.

Reading is the cost to avoid, so each file is read once. Up to :data:`MEMORY_READ_BYTES` the
bytes are read in one go and every hasher (digests and the image decoder) works from memory;
bigger files stream their digests from disk in one shared pass and decoders read the path
themselves. Video hashers always get the path (PyAV and vpdq read files), so a small video is
read twice: once for its digests, once by the decoder.

Batch work never raises for one file (DESIGN rule 4): the file-level ``error`` says why a file
could not be read at all (missing, unreadable, empty, over ``max_file_bytes``) and ``errors``
says why one hasher failed on content it should have handled (a corrupt JPEG for ``pdq``, or a
file named like an image whose bytes are not one). A hasher that does not apply (``pdq`` on a
text file) leaves no hash and no error. Asking for a hasher that cannot load is a caller
error and raises ``PluginError`` before any file is touched.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.errors import ContentError
from childsafe.hashing._digest import DigestHasher, digest_many
from childsafe.hashing.base import Hasher
from childsafe.hashing.registry import get_hasher
from childsafe.types import FileHashes, HashValue

DEFAULT_TYPES: tuple[str, ...] = ("md5", "sha1", "sha256", "pdq")
MEMORY_READ_BYTES = 64 * 1024**2
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
)


def build_hashers(hash_types: Sequence[str], settings: Settings) -> list[Hasher]:
    """Hashers for ``hash_types`` through the registry, configured from ``settings``.

    Hashers that decode carry a ``max_pixels`` limit; it is set from the settings here so
    the registry can keep building every hasher with no arguments. Built hashers are cached
    per configuration: ``hash_file`` is called once per file and must not rebuild them.
    """
    key = (
        tuple(dict.fromkeys(hash_types)),
        settings.max_image_pixels,
        tuple(settings.allowed_plugins or ()),
    )
    cached = _HASHERS.get(key)
    if cached is None:
        cached = []
        for name in key[0]:
            hasher = get_hasher(name, settings.allowed_plugins)
            if hasattr(hasher, "max_pixels"):
                hasher.max_pixels = settings.max_image_pixels
            cached.append(hasher)
        _HASHERS[key] = cached
    return list(cached)


_HASHERS: dict[tuple[tuple[str, ...], int, tuple[str, ...]], list[Hasher]] = {}


def hash_file(
    path_or_item: str | os.PathLike[str] | Item,
    hash_types: Sequence[str] = DEFAULT_TYPES,
    *,
    settings: Settings | None = None,
) -> FileHashes:
    """Every requested hash of one file (or item), with per-hasher errors."""
    settings = settings or _settings_from_env()
    return _hash_with(_as_item(path_or_item), build_hashers(hash_types, settings), settings)


def hash_paths(
    paths: Iterable[str | os.PathLike[str]],
    hash_types: Sequence[str] = DEFAULT_TYPES,
    *,
    settings: Settings | None = None,
    workers: int = 1,
) -> Iterator[FileHashes]:
    """One :class:`FileHashes` per file under ``paths``, in input order.

    Directories expand recursively in sorted order (deterministic across runs and machines).
    ``workers > 1`` hashes in that many processes and still yields in input order, keeping
    only a small window of files in flight. Workers are spawned, not forked (a forked numba
    or I/O thread can deadlock), so a script using them needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    settings = settings or Settings()
    hashers = build_hashers(hash_types, settings)  # fail fast on a bad hash type
    files = expand_paths(paths)
    if workers <= 1:
        for path in files:
            yield _hash_guarded(path, hashers, settings)
        return
    ctx = get_context("spawn")  # no fork of a parent that may hold threads (numba, I/O)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(tuple(hash_types), settings)
    ) as pool:
        window: deque[Future[FileHashes]] = deque()
        for path in files:
            window.append(pool.submit(_worker_hash, path))
            if len(window) >= 4 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _settings_from_env() -> Settings:
    """``Settings()``, built again only when an environment variable it reads has changed.

    ``hash_file`` is called once per file, and building ``Settings`` parses the environment
    through pydantic (~0.4 ms, about 5 % of hashing a photo); the key (``CHILDSAFE_*``, plus
    the variables behind the default ``home``) costs a tenth of that.
    """
    global _ENV_SETTINGS
    key = tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.upper().startswith("CHILDSAFE_") or name in _HOME_VARS
        )
    )
    if _ENV_SETTINGS is None or _ENV_SETTINGS[0] != key:
        _ENV_SETTINGS = (key, Settings())
    return _ENV_SETTINGS[1]


_HOME_VARS = frozenset({"HOME", "XDG_DATA_HOME"})  # platformdirs' user_data_dir reads these
_ENV_SETTINGS: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def _as_item(path_or_item: str | os.PathLike[str] | Item) -> Item:
    return path_or_item if isinstance(path_or_item, Item) else Item.from_path(Path(path_or_item))


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Files named, and files under directories named, recursively in sorted order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found: list[str] = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(str(Path(root) / n) for n in names)
            yield from sorted(found)
        else:
            yield str(path)


def _hash_guarded(path: str, hashers: list[Hasher], settings: Settings) -> FileHashes:
    try:
        return _hash_with(Item.from_path(path), hashers, settings)
    except Exception as exc:  # a bug must cost one row, not the batch (DESIGN rule 4)
        return FileHashes(path, error=f"{path}: unexpected {type(exc).__name__}: {exc}")


def _hash_with(item: Item, hashers: list[Hasher], settings: Settings) -> FileHashes:
    where = str(item.path) if item.path is not None else item.id
    try:
        size = item.size()
        if size == 0:
            return FileHashes(where, error=f"{where}: empty file (zero bytes)")
        if size > settings.max_file_bytes:
            return FileHashes(
                where,
                error=f"{where}: {size} bytes is over the {settings.max_file_bytes}-byte limit",
            )
        work = item
        if item.data is None and size <= MEMORY_READ_BYTES:
            with item.open() as f:
                work = Item(id=item.id, data=f.read(), provenance=item.provenance)
        digests = [h for h in hashers if isinstance(h, DigestHasher)]
        hashes: dict[str, HashValue] = digest_many(work, digests) if digests else {}
    except ContentError as exc:
        return FileHashes(where, error=str(exc))
    if work.kind() == "video":
        work = item  # video decoders want a path (PyAV, vpdq); they read it themselves
    errors: dict[str, str] = {}
    for hasher in hashers:
        if isinstance(hasher, DigestHasher):
            continue
        if not hasher.applies_to(work):
            reason = _should_have_applied(item, hasher)
            if reason:
                errors[hasher.name] = reason
            continue
        try:
            hashes[hasher.name] = hasher.hash_item(work)
        except ContentError as exc:
            errors[hasher.name] = str(exc)
    return FileHashes(
        where, hashes={h.name: hashes[h.name] for h in hashers if h.name in hashes}, errors=errors
    )


def _should_have_applied(item: Item, hasher: Hasher) -> str | None:
    """A file named like an image whose bytes are not one is worth reporting, not skipping."""
    name = item.path.name if item.path is not None else item.id
    if hasher.kinds and "image" in hasher.kinds and Path(name).suffix.lower() in IMAGE_SUFFIXES:
        return f"{item.id}: named like an image but its content is not a recognised image"
    return None


_WORKER: tuple[list[Hasher], Settings] | None = None


def _init_worker(hash_types: tuple[str, ...], settings: Settings) -> None:
    global _WORKER
    _WORKER = (build_hashers(hash_types, settings), settings)


def _worker_hash(path: str) -> FileHashes:
    assert _WORKER is not None, "worker not initialised"
    return _hash_guarded(path, *_WORKER)
