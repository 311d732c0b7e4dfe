"""Per-shard parts: both formats round-trip, broken ones are named, finding a shard's part."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from tests.scan.test_outputs import row

from childsafe.errors import ScanOutputError
from childsafe.scan.parts import (
    ARROW_PART,
    PARQUET_PART,
    find_part,
    part_path,
    read_part,
    shard_id_of,
    write_part,
)
from childsafe.scan.schema import RESULTS


def tables() -> list[pa.Table]:
    rows = [row(f"i{k}", "block" if k % 5 == 0 else "allow") for k in range(300)]
    table = pa.Table.from_pylist(rows, schema=RESULTS)
    return [table.slice(0, 120), table.slice(120, 0), table.slice(120)]


@pytest.mark.parametrize("suffix", [ARROW_PART, PARQUET_PART])
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_in_batches_of_the_results_schema(
    tmp_path: Path, suffix: str, compress: bool
) -> None:
    final = part_path(tmp_path, "shard-00001", suffix)
    write_part(final, tables(), compress=compress)
    batches = list(read_part(final, 100))  # read to the end: a memory map is closed by now
    assert all(b.schema.equals(RESULTS) for b in batches)
    assert pa.Table.from_batches(batches).equals(pa.concat_tables(tables()))
    assert list(tmp_path.iterdir()) == [final]  # no temporary file left
    assert shard_id_of(final) == "shard-00001"


def test_uncompressed_arrow_parts_are_bigger(tmp_path: Path) -> None:
    small, big = tmp_path / "a.arrow", tmp_path / "b.arrow"
    write_part(small, tables(), compress=True)
    write_part(big, tables(), compress=False)
    assert small.stat().st_size < big.stat().st_size


def test_a_failed_write_leaves_no_part_and_no_temporary(tmp_path: Path) -> None:
    def failing() -> list[pa.Table]:
        yield tables()[0]
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        write_part(part_path(tmp_path, "s", ARROW_PART), failing())
    assert not list(tmp_path.iterdir())


def test_find_part_either_format(tmp_path: Path) -> None:
    assert find_part(tmp_path, "a") is None
    write_part(part_path(tmp_path, "a", PARQUET_PART), tables())
    write_part(part_path(tmp_path, "b.v2", ARROW_PART), tables())
    assert find_part(tmp_path, "a") == tmp_path / "a.parquet"
    assert find_part(tmp_path, "b.v2") == tmp_path / "b.v2.arrow"
    assert shard_id_of(tmp_path / "b.v2.arrow") == "b.v2"


@pytest.mark.parametrize("suffix", [ARROW_PART, PARQUET_PART])
def test_broken_parts_are_named(tmp_path: Path, suffix: str) -> None:
    garbage = tmp_path / f"junk{suffix}"
    garbage.write_bytes(b"not a part at all" * 10)
    with pytest.raises(ScanOutputError, match=rf"junk\{suffix}: not a readable"):
        list(read_part(garbage, 100))
    other = pa.table({"item_id": ["x"], "decision": ["allow"]})
    odd = tmp_path / f"odd{suffix}"
    if suffix == ARROW_PART:
        with pa.OSFile(str(odd), "wb") as sink, pa.ipc.new_file(sink, other.schema) as w:
            w.write_table(other)
    else:
        import pyarrow.parquet as pq

        pq.write_table(other, odd)
    with pytest.raises(ScanOutputError, match=r"odd.*missing column 'source'"):
        list(read_part(odd, 100))
    truncated = tmp_path / f"cut{suffix}"
    write_part(truncated, tables())
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(ScanOutputError, match="cut"):
        list(read_part(truncated, 100))
