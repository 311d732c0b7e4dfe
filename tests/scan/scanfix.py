"""Benign test data for scan tests: generated block-pattern images, tables, a bank store."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from childsafe.banks.base import BankStore, ImportRecord
from childsafe.hashing.api import hash_file


def image_bytes(seed: int, size: int = 96) -> bytes:
    """A PNG of random coloured blocks: benign, distinct per seed, good PDQ quality."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((size, size), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_folder(folder: Path, seeds: range | list[int], *, broken: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in seeds:
        p = folder / f"img_{s:04d}.png"
        p.write_bytes(image_bytes(s))
        paths.append(p)
    if broken:
        (folder / "broken.png").write_bytes(image_bytes(9999)[:60])
        paths.append(folder / "broken.png")
    return paths


def make_tar(path: Path, seeds: list[int]) -> int:
    """A WebDataset tar of ``key.png`` + ``key.txt`` (a mild caption); returns item count."""
    with tarfile.open(path, "w") as tar:
        for s in seeds:
            for name, data in ((f"{s:06d}.png", image_bytes(s)), (f"{s:06d}.txt", b"a photo")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return len(seeds)


def plant(
    store: BankStore, bank: str, seeds: list[int], types: tuple[str, ...] = ("md5", "pdq")
) -> None:
    """Put the hashes of the images with ``seeds`` into ``bank``."""
    store.create_bank(bank, exist_ok=True)
    records = []
    for s in seeds:
        fh = hash_file(_tmp_item(s), list(types))
        records += [ImportRecord(t, fh.hashes[t].value, label="demo-benign") for t in types]
    store.apply(bank, records, source="test")


def _tmp_item(seed: int):  # type: ignore[no-untyped-def]
    from childsafe.content.base import Item

    return Item.from_bytes(image_bytes(seed), id=f"seed-{seed}")
