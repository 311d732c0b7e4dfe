"""A hashes-only scan's outputs equal the per-row reference's, byte for byte, on tricky rows.

The reference is the same scan with the fast path switched off: every row becomes an
``Item`` and goes through the ordinary steps (``hashlib`` for captions, the ``Matcher``, the
policy, ``records_to_table``), one Python object at a time. The table mixes what real
metadata holds: exact and near PDQ matches, an allow-listed hash, upper-case and padded
digests, malformed hashes, rows with nothing to scan, null, duplicate and multi-line ids,
captions that are not valid UTF-8, empty and null captions. All benign: random digests and
everyday captions.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.scan.scanfix import image_bytes

from childsafe.banks.base import BankStore, ImportRecord
from childsafe.content.base import Item
from childsafe.executors.local import LocalExecutor
from childsafe.hashing.api import hash_file
from childsafe.scan import fastpath
from childsafe.scan.config import ScanConfig
from childsafe.scan.run import run_scan

OUTPUT_FILES = ("kept_ids.txt", "removal_list.txt", "removal_list.json")


def flip(value: str, bits: int, rnd: random.Random) -> str:
    n = int(value, 16)
    for b in rnd.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def tricky_table(path: Path, store: BankStore, rows: int = 3000) -> None:
    rnd = random.Random(17)
    pdq = hash_file(Item.from_bytes(image_bytes(3), id="x"), ["pdq"]).hashes["pdq"].value
    md5_hit = hashlib.md5(image_bytes(7)).hexdigest()  # planted by the bank_store fixture
    sha_hit = hashlib.sha256(b"known").hexdigest()
    allowed = hashlib.md5(b"false positive").hexdigest()
    store.apply("demo", [ImportRecord("sha256", sha_hit, label="l2"), ImportRecord("md5", allowed)],
                source="t")  # fmt: skip
    store.add_allowed("demo", "md5", [allowed], "false positive")
    cols: dict[str, list[Any]] = {k: [] for k in ("id", "url", "caption", "md5", "sha256", "pdq")}
    for i in range(rows):
        md5, sha, ph = rnd.randbytes(16).hex(), rnd.randbytes(32).hex(), rnd.randbytes(32).hex()
        r = rnd.random()
        if r < 0.01:
            md5 = rnd.choice([md5_hit, md5_hit.upper(), f" {md5_hit}\t", allowed])
        elif r < 0.02:
            sha = sha_hit
        elif r < 0.03:
            ph = rnd.choice([pdq, flip(pdq, 12, rnd), flip(pdq, 50, rnd)])
        elif r < 0.04:
            md5 = rnd.choice(["not-a-hash", md5[:-1], "é" * 32])
        elif r < 0.05:
            md5, sha, ph = None, "", None  # only the caption is left
        caption = rnd.choice(
            [b"a photo of a cat", b"two cups of tea " * rnd.randrange(1, 9), b"", None,
             b"caf\xe9 au lait"]  # the last is Latin-1, not UTF-8
        )  # fmt: skip
        ident = rnd.choice([f"r{i}"] * 30 + [None, f"dup{i % 4}", f"two\nlines{i}"])
        cols["id"].append(ident)
        cols["url"].append(f"https://example.org/{i}.jpg" if i % 9 else None)
        cols["caption"].append(caption)
        cols["md5"].append(md5)
        cols["sha256"].append(sha)
        cols["pdq"].append(ph)
    table = pa.table({**cols, "caption": pa.array(cols["caption"], pa.binary())})
    pq.write_table(table, path, row_group_size=500)


def scan(table: Path, out: Path, store: BankStore, workers: int, **kw: Any) -> dict[str, Any]:
    config = ScanConfig(
        sources=[str(table)], out=out, shard_options={"shard_size": 1000}, seed=5, **kw
    )
    summary = run_scan(config, store, executor=LocalExecutor(workers))
    return summary.deterministic


def same_outputs(a: Path, b: Path) -> None:
    for name in ("results.parquet", "quarantine.parquet", "errors.parquet"):
        ta, tb = pq.read_table(a / name), pq.read_table(b / name)
        assert ta.schema.equals(tb.schema) and ta.equals(tb), name
    for name in OUTPUT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def without_part_names(summary: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(summary))
    for entry in out["shards"]:
        entry.pop("part")  # <shard>.arrow from the fast path, <shard>.parquet per row
    return out


@pytest.fixture
def table(tmp_path: Path, bank_store: BankStore) -> Path:
    path = tmp_path / "meta.parquet"
    tricky_table(path, bank_store)
    return path


def test_fast_scan_equals_the_per_row_reference(
    table: Path, tmp_path: Path, bank_store: BankStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = scan(table, tmp_path / "fast", bank_store, 1)
    with monkeypatch.context() as m:
        m.setattr(fastpath, "batches_for", lambda *a: None)  # every row through the steps
        ref = scan(table, tmp_path / "ref", bank_store, 1)
    same_outputs(tmp_path / "fast", tmp_path / "ref")
    assert without_part_names(fast) == without_part_names(ref)
    items = fast["items"]
    assert items["total"] == 3000 and items["block"] > 30 and items["error"] > 30
    assert items["duplicate_ids"] > 0 and any("line breaks" in w for w in fast["warnings"])
    parts = sorted(p.name for p in (tmp_path / "fast" / "parts").iterdir())
    assert parts == [f"meta-{i:05d}.arrow" for i in range(3)]


def test_two_workers_and_a_resumed_scan_write_the_same_outputs(
    table: Path, tmp_path: Path, bank_store: BankStore
) -> None:
    one = scan(table, tmp_path / "one", bank_store, 1)
    two = scan(table, tmp_path / "two", bank_store, 2)
    same_outputs(tmp_path / "one", tmp_path / "two")
    assert one == two
    parts = sorted((tmp_path / "two" / "parts").iterdir())
    for part in parts[::2]:  # a crash lost these shards and every output
        part.unlink()
    for name in ("results.parquet", *OUTPUT_FILES):
        (tmp_path / "two" / name).unlink()
    resumed = scan(table, tmp_path / "two", bank_store, 1, resume=True)
    same_outputs(tmp_path / "one", tmp_path / "two")
    assert resumed == one
