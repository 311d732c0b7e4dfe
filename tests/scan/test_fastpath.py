"""The hashes-only fast path writes exactly the rows the per-item path writes."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.scan.scanfix import image_bytes

from childsafe.banks.base import BankStore, ImportRecord
from childsafe.content.base import Item
from childsafe.hashing.api import hash_file
from childsafe.readers import reader_for
from childsafe.scan.config import ScanConfig
from childsafe.scan.parts import read_part
from childsafe.scan.run import _snapshot, build_task
from childsafe.scan.schema import RESULTS


def part_table(path: Path) -> pa.Table:
    return pa.Table.from_batches(list(read_part(path, 1 << 16)), schema=RESULTS)


def _flip(value: str, bits: int, rng: random.Random) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def test_fast_path_rows_equal_slow_path_rows(tmp_path: Path, bank_store: BankStore) -> None:
    rng = random.Random(5)
    pdq = hash_file(Item.from_bytes(image_bytes(3), id="x"), ["pdq"]).hashes["pdq"].value
    md5s = [hashlib.md5(image_bytes(s)).hexdigest() for s in (3, 7)]
    sha = hashlib.sha256(b"known").hexdigest()
    bank_store.apply(
        "demo",
        [ImportRecord("sha256", sha, label="l2"), ImportRecord("md5", md5s[0], label="again")],
        source="t",
    )
    allowed = hashlib.md5(b"fp").hexdigest()
    bank_store.apply("demo", [ImportRecord("md5", allowed)], source="t")
    bank_store.add_allowed("demo", "md5", [allowed], "false positive")
    rows = []
    for i in range(3000):
        rows.append(
            {
                "id": f"r{i}",
                "md5": rng.randbytes(16).hex(),
                "sha256": None,
                "pdq": rng.randbytes(32).hex(),
                "url": f"https://example.org/{i}.jpg",
                "caption": "a photo of a cat",
            }
        )
    rows[5].update(md5=md5s[0], pdq=pdq)  # two md5 entries + pdq
    rows[6].update(md5=md5s[1].upper(), caption=None)  # upper case: reader canonicalises
    rows[7].update(pdq=_flip(pdq, 20, rng), sha256=sha)
    rows[8].update(md5="not-a-hash", pdq=pdq)  # error row, but its pdq still counts
    rows[9].update(md5="", pdq=None)  # nothing to scan but the caption
    rows[10].update(md5=" " + md5s[1] + " ")
    rows[11].update(md5=allowed, pdq=None)  # allow-listed
    rows[12].update(pdq=_flip(pdq, 40, rng))  # too far
    table = tmp_path / "laion.parquet"
    pq.write_table(pa.Table.from_pylist(rows), table, row_group_size=1000)
    out = tmp_path / "out"
    config = ScanConfig(sources=[str(table)], out=out, shard_options={"rows_per_shard": 1000})
    out.mkdir()
    matcher = _snapshot(config, bank_store, resumed=False)
    reader = reader_for(str(table), rows_per_shard=1000, batch_rows=512)
    shards = reader.shards(str(table))
    assert len(shards) == 3
    hash_types = config.resolve_hash_types(matcher.hash_types())
    fast = build_task(config, {str(table): reader}, hash_types, "k1")
    slow = build_task(config, {str(table): reader}, hash_types, "k2")
    slow.fast_path, slow.parts_dir = False, str(tmp_path / "slow")
    (tmp_path / "slow").mkdir()
    (out / "parts").mkdir()
    for shard in shards:
        done = fast(shard)
        assert done.counters["fast_path_rows"] == done.rows
        slow(shard)
    f = part_table(out / "parts" / f"{shards[0].shard_id}.arrow")
    s = part_table(tmp_path / "slow" / f"{shards[0].shard_id}.parquet")
    assert f.schema == s.schema and f.num_rows == 1000
    assert f.to_pylist() == s.to_pylist()
    for shard in shards[1:]:
        assert part_table(out / "parts" / f"{shard.shard_id}.arrow").equals(
            part_table(tmp_path / "slow" / f"{shard.shard_id}.parquet")
        )
    by_id = {r["item_id"]: r for r in f.to_pylist()}
    assert by_id["laion/r5"]["reasons"] == ["match:demo:md5", "match:demo:pdq"]
    assert by_id["laion/r6"]["decision"] == "block"
    assert by_id["laion/r7"]["reasons"] == ["match:demo:sha256", "match:demo:pdq"]
    assert by_id["laion/r8"]["decision"] == "block" and by_id["laion/r8"]["error"]
    assert by_id["laion/r10"]["decision"] == "block"
    assert by_id["laion/r11"]["decision"] == "allow"
    assert by_id["laion/r12"]["decision"] == "allow"
