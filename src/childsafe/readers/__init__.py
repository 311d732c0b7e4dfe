"""Dataset readers: a source (folder, tar shards, table, HF dataset) -> shards -> items.

``READERS`` is in sniffing order, most specific first: a Hugging Face ``save_to_disk``
folder is also a folder, so it is tried before the plain folder reader.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from childsafe.errors import ConfigError, SourceError
from childsafe.readers._paths import expand_files, is_pattern
from childsafe.readers.base import Reader, Shard
from childsafe.readers.folder import FolderReader
from childsafe.readers.hf import HFReader
from childsafe.readers.table import TableReader
from childsafe.readers.webdataset import WebDatasetReader

READERS: tuple[type[Reader], ...] = (HFReader, WebDatasetReader, TableReader, FolderReader)


def _accepts(cls: type[Reader], option: str) -> bool:
    params = inspect.signature(cls.__init__).parameters
    if option in params:
        return True
    return issubclass(cls, TableReader) and option.endswith("_column")


def reader_for(source: str, **options: Any) -> Reader:
    """The reader that handles ``source``, built with ``options`` (None values ignored).

    Raises ``SourceError`` naming the source when it does not exist or no reader fits, and
    ``ConfigError`` for an option that does not apply to that kind of source (an
    ``id_column`` given for a tar would otherwise be silently ignored).
    """
    if not is_pattern(source) and not Path(source).exists():
        raise SourceError(f"{source}: no such file or folder")
    for cls in READERS:
        if cls.sniff(source):
            given = {k: v for k, v in options.items() if v is not None}
            bad = sorted(k for k in given if not _accepts(cls, k))
            if bad:
                raise ConfigError(f"{source}: option {', '.join(bad)} does not apply to {cls.name}")
            if is_pattern(source):
                expand_files(source)  # a missing shard is named now, not mid-scan
            return cls(**given)
    if Path(source).is_file() and not os.access(source, os.R_OK):
        raise SourceError(f"{source}: not readable")
    raise SourceError(
        f"{source}: no reader for this source (want a folder, a .tar/.tar.gz shard pattern, "
        "a .parquet/.csv/.tsv/.jsonl table or a Hugging Face save_to_disk folder)"
    )


_CONTAINERS = (".tar", ".tar.gz", ".tgz", ".parquet", ".csv", ".tsv", ".jsonl")


def expand_sources(sources: list[str]) -> list[str]:
    """Sources as the readers see them: a folder holding only dataset files becomes those files.

    ``childsafe scan data/`` on a folder of WebDataset shards and metadata tables means "scan
    these shards and tables", not "hash these .tar files as opaque files". A folder with any
    media, sub-folder or other file stays a folder source; an HF ``save_to_disk`` folder
    stays one source.
    """
    out: list[str] = []
    for source in sources:
        path = Path(source)
        if is_pattern(source) or not path.is_dir() or HFReader.sniff(source):
            out.append(source)
            continue
        entries = sorted(path.iterdir())
        containers = [
            e
            for e in entries
            if e.is_file() and not e.is_symlink() and e.name.endswith(_CONTAINERS)
        ]
        if containers and len(containers) == len(entries):
            out += [str(e) for e in containers]
        else:
            out.append(source)
    return out


__all__ = [
    "READERS",
    "FolderReader",
    "HFReader",
    "Reader",
    "Shard",
    "TableReader",
    "WebDatasetReader",
    "expand_sources",
    "reader_for",
]
