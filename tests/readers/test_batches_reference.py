"""``read_batches`` on tricky tables equals a straightforward per-row reference.

The batch path is vectorised (numba hex checks, numba SHA-256 of captions, Arrow kernels for
ids); the reference below is the plain reading of the rules in ``readers._columns``, one
Python row at a time, with ``hashlib`` and ``hashing.formats.canonical``. Inputs are benign:
random digests, everyday captions, and damaged cells (bad hex, wrong lengths, stray white
space, upper case, invalid UTF-8 bytes, nulls, empty strings).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from childsafe.errors import HashFormatError
from childsafe.hashing.formats import HEX_LENGTHS, canonical
from childsafe.readers import TableReader
from childsafe.readers._columns import BATCH_SCHEMA, HASH_TYPES
from childsafe.readers.base import Shard

WS = " \t\n\r\x0b\x0c"
NOTHING = "nothing to scan: no valid hash, image bytes or caption in this row"


def hash_cell(rnd: random.Random, nhex: int) -> str | None:
    good = rnd.randbytes(nhex // 2).hex()
    return rnd.choice(
        [good] * 12
        + [None, "", "  ", good.upper(), f" {good}\t", good[:-1], good + "0", "zz" + good[2:]]
        + ["é" * nhex, good[: nhex // 2] + "G" + good[nhex // 2 + 1 :]]
    )


def tricky_rows(n: int, seed: int) -> dict[str, list[Any]]:
    rnd = random.Random(seed)
    cols: dict[str, list[Any]] = {k: [] for k in ("id", "url", "caption", "md5", "sha256", "pdq")}
    for i in range(n):
        cols["id"].append(rnd.choice([f"r{i}"] * 20 + [None, f"dup{i % 3}", f"line\nbreak{i}"]))
        cols["url"].append(rnd.choice([f"https://example.org/{i}.jpg", None]))
        words = "a photo of a cat on a sofa " * rnd.randrange(0, 12)
        cols["caption"].append(
            rnd.choice([words.encode(), b"", None, b"caf\xe9 bad utf-8", "é".encode() * 70])
        )
        for htype in ("md5", "sha256", "pdq"):
            cols[htype].append(hash_cell(rnd, HEX_LENGTHS[htype]))
    return cols


def reference(rows: list[dict[str, Any]], first: int, shard: Shard, prefix: str) -> list[dict]:
    """What the batch path must give for ``rows`` (the raw table rows), row by row."""
    out = []
    for i, r in enumerate(rows):
        row = first + i
        ident = r.get("id")
        cap = r.get("caption")
        got: dict[str, Any] = {name: None for name in BATCH_SCHEMA.names}
        got.update(
            item_id=f"{prefix}/{ident}" if ident is not None else f"{shard.shard_id}#{row}",
            source=shard.source,
            shard=shard.shard_id,
            row=row,
            url=r.get("url"),
            caption_sha256=None if cap is None else hashlib.sha256(cap).hexdigest(),
            kind="hashes",
        )
        errors = []
        for htype in HASH_TYPES:
            value = r.get(htype)
            if value is None or not value.strip(WS):
                continue
            try:
                got[htype] = canonical(htype, value)
            except HashFormatError as exc:
                errors.append(f"column {htype!r}: {exc}")
        if not errors and not cap and all(got[h] is None for h in HASH_TYPES):
            errors.append(NOTHING)
        got["error"] = f"row {row}: {'; '.join(errors)}" if errors else None
        out.append(got)
    return out


@pytest.mark.parametrize("caption_type", [pa.binary(), pa.large_binary()])
def test_read_batches_equal_the_per_row_reference(tmp_path: Path, caption_type: Any) -> None:
    cols = tricky_rows(2500, seed=3)
    table = pa.table({**cols, "caption": pa.array(cols["caption"], caption_type)})
    path = tmp_path / "tricky.parquet"
    pq.write_table(table, path, row_group_size=700)
    reader = TableReader(rows_per_shard=1000, batch_rows=300)
    raw = table.to_pylist()
    seen = 0
    for shard in reader.shards(str(path)):
        for batch in reader.read_batches(shard):
            assert batch.schema.equals(BATCH_SCHEMA)
            first = batch.column("row")[0].as_py()
            want = reference(raw[first : first + batch.num_rows], first, shard, "tricky")
            assert batch.to_pylist() == want
            seen += batch.num_rows
    assert seen == table.num_rows


def test_string_captions_and_numeric_ids(tmp_path: Path) -> None:
    captions = ["a cat", "", None, "une tasse de thé", "猫" * 30]
    md5 = [hashlib.md5(str(i).encode()).hexdigest() for i in range(5)]
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"id": [10, 11, None, 13, 14], "caption": captions, "md5": md5}), path)
    reader = TableReader()
    (shard,) = reader.shards(str(path))
    (batch,) = reader.read_batches(shard)
    rows = [
        {"id": None if i == 2 else str(10 + i), "caption": None if c is None else c.encode(),
         "md5": md5[i]}
        for i, c in enumerate(captions)
    ]  # fmt: skip
    assert batch.to_pylist() == reference(rows, 0, shard, "plain")
