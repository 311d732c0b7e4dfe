"""Tables: Parquet, CSV and JSON Lines; columns, hashes, captions, the batch API."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.readers.conftest import CAPTIONS, astronaut_png, jpeg

from childsafe.errors import HashFormatError, SourceError
from childsafe.hashing.formats import canonical
from childsafe.readers import TableReader, reader_for
from childsafe.readers._columns import BATCH_SCHEMA
from childsafe.readers.base import Reader
from childsafe.readers.testing import ReaderContract, read_all
from childsafe.scan.schema import RESULTS

MD5 = [hashlib.md5(jpeg(i)).hexdigest() for i in range(10)]


def rows(n: int = 10) -> dict[str, list[object]]:
    return {
        "uid": [f"u{i}" for i in range(n)],
        "URL": [f"https://example.org/{i}.jpg" for i in range(n)],
        "TEXT": [CAPTIONS[i % 4] for i in range(n)],
        "md5": [MD5[i % 10].upper() if i == 1 else MD5[i % 10] for i in range(n)],
        "LICENSE": ["cc-by"] * n,
    }


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "laion-part-00000.parquet"
    pq.write_table(pa.table(rows()), path, row_group_size=3)
    return path


class TestParquetContract(ReaderContract):
    @pytest.fixture
    def reader(self) -> Reader:
        return TableReader(rows_per_shard=4)

    @pytest.fixture
    def source(self, parquet: Path) -> str:
        return str(parquet)

    @pytest.fixture
    def expected_items(self) -> int:
        return 10

    @pytest.fixture
    def expected_errors(self) -> int:
        return 0


class TestCsvContract(TestParquetContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        lines = ["key,url,caption,sha256"]
        for i in range(7):
            sha = hashlib.sha256(jpeg(i)).hexdigest() if i != 3 else "not-a-hash"
            lines.append(f'{i},https://example.org/{i},"line one\nline two, {i}",{sha}')
        (tmp_path / "meta.csv").write_text("\n".join(lines) + "\n")
        return str(tmp_path / "meta.csv")

    @pytest.fixture
    def expected_items(self) -> int:
        return 7

    @pytest.fixture
    def expected_errors(self) -> int:
        return 1


class TestJsonlContract(TestParquetContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        recs = [{"id": i, "url": f"https://example.org/{i}", "pdq": None} for i in range(5)]
        (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        return str(tmp_path / "m.jsonl")

    @pytest.fixture
    def expected_errors(self) -> int:
        return 5  # url-only rows: nothing to scan without downloading

    @pytest.fixture
    def expected_items(self) -> int:
        return 5


def test_parquet_rows_ids_hashes_provenance(parquet: Path) -> None:
    reader = TableReader(rows_per_shard=4)
    shards = reader.shards(str(parquet))
    assert [(s.shard_id, s.start, s.stop) for s in shards] == [
        ("laion-part-00000-00000", 0, 6),
        ("laion-part-00000-00001", 6, 10),
    ]
    items = read_all(reader, shards)
    assert items[1].id == "laion-part-00000/u1"
    assert items[1].hashes == {"md5": MD5[1]}  # canonical: lower-case
    assert not items[1].has_content and items[1].text == CAPTIONS[1]
    p = items[7].provenance
    assert p is not None and (p.row, p.url, p.extra["licence"]) == (
        7,
        "https://example.org/7.jpg",
        "cc-by",
    )
    assert p.extra["caption_sha256"] == hashlib.sha256(CAPTIONS[3].encode()).hexdigest()


def test_read_and_read_batches_agree_and_match_results_schema(parquet: Path) -> None:
    reader = TableReader(rows_per_shard=4)
    for shard in reader.shards(str(parquet)):
        batch = pa.Table.from_batches(list(reader.read_batches(shard)), BATCH_SCHEMA)
        items = list(reader.read(shard))
        assert batch.column("item_id").to_pylist() == [i.id for i in items]
        assert batch.column("md5").to_pylist() == [i.hashes.get("md5") for i in items]
        assert batch.column("error").to_pylist() == [i.error for i in items]
        assert batch.column("kind").to_pylist() == ["hashes"] * len(items)
    for f in BATCH_SCHEMA:
        assert RESULTS.field(f.name).type == f.type, f.name


def test_malformed_hash_is_an_error_row_naming_the_column(tmp_path: Path) -> None:
    data = rows(4)
    data["md5"][2] = "xyz"
    data["sha1"] = [None, "", "  ", "0" * 39]
    pq.write_table(pa.table(data), tmp_path / "t.parquet")
    reader = TableReader()
    items = read_all(reader, reader.shards(str(tmp_path / "t.parquet")))
    assert items[2].error is not None and "row 2: column 'md5'" in items[2].error
    assert "column 'sha1'" in (items[3].error or "")
    assert items[0].error is None and items[1].error is None  # empty cells mean "no hash"


@pytest.mark.parametrize(
    "value",
    [MD5[0], f"  {MD5[0].upper()}\n", f"\x1c{MD5[0]}", f"\u00a0{MD5[0]}", MD5[0][:-1] + "Ｆ",
     MD5[0] + "0", "", "ab" * 16 + "\u0130"],
)  # fmt: skip
def test_fast_hash_path_agrees_with_the_reference(tmp_path: Path, value: str) -> None:
    pq.write_table(pa.table({"md5": [value]}), tmp_path / "h.parquet")
    reader = TableReader()
    (batch,) = reader.read_batches(reader.shards(str(tmp_path / "h.parquet"))[0])
    got, error = batch.column("md5")[0].as_py(), batch.column("error")[0].as_py()
    if not value.strip():
        assert got is None
        return
    try:
        assert got == canonical("md5", value) and error is None
    except HashFormatError:
        assert got is None and error is not None and "column 'md5'" in error


def test_wrong_column_types(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2], "md5": [123, 456]}), tmp_path / "ints.parquet")
    reader = TableReader()
    items = read_all(reader, reader.shards(str(tmp_path / "ints.parquet")))
    assert [i.id for i in items] == ["ints/1", "ints/2"]
    assert all("column 'md5': not a md5 hash" in (i.error or "") for i in items)
    table = pa.table({"id": [1], "caption": pa.array([["a", "b"]])})
    pq.write_table(table, tmp_path / "list.parquet")
    with pytest.raises(SourceError, match=r"list\.parquet: column 'caption' \(caption\)"):
        reader.shards(str(tmp_path / "list.parquet"))


def test_table_without_usable_columns_lists_its_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"foo": [1], "bar": ["x"]}), tmp_path / "odd.parquet")
    with pytest.raises(SourceError, match=r"odd\.parquet: no id, url, hash.*columns: foo, bar"):
        TableReader().shards(str(tmp_path / "odd.parquet"))
    with pytest.raises(SourceError, match="no column 'nope'"):
        TableReader(id_column="nope").shards(str(tmp_path / "odd.parquet"))


def test_column_overrides(tmp_path: Path) -> None:
    pq.write_table(pa.table({"foo": ["a"], "bar": [MD5[0]]}), tmp_path / "o.parquet")
    reader = TableReader(id_column="foo", md5_column="bar")
    (item,) = read_all(reader, reader.shards(str(tmp_path / "o.parquet")))
    assert (item.id, item.hashes) == ("o/a", {"md5": MD5[0]})


def test_csv_non_utf8_caption_is_kept_and_flagged(tmp_path: Path) -> None:
    raw = b"id,caption,md5\n1,caf\xe9 au lait," + MD5[0].encode() + b"\n2,a cat on a sofa,\n"
    (tmp_path / "latin1.csv").write_bytes(raw)
    reader = TableReader()
    first, second = read_all(reader, reader.shards(str(tmp_path / "latin1.csv")))
    assert first.error is None and first.hashes == {"md5": MD5[0]}
    assert first.text == "caf\ufffd au lait"
    assert first.provenance is not None
    assert (
        first.provenance.extra["caption_sha256"] == hashlib.sha256(b"caf\xe9 au lait").hexdigest()
    )
    assert "byte 0xe9 at offset 3" in first.provenance.extra["caption_error"]
    assert second.text == "a cat on a sofa" and second.error is None  # caption only


def test_image_bytes_and_hf_struct(tmp_path: Path) -> None:
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    cells = [{"bytes": astronaut_png(), "path": "a.png"}, None, {"bytes": None, "path": "/etc/x"}]
    pq.write_table(pa.table({"image": pa.array(cells, image)}), tmp_path / "hf.parquet")
    reader = TableReader()
    shard = reader.shards(str(tmp_path / "hf.parquet"))[0]
    assert reader.has_images(shard)
    a, b, c = reader.read(shard)
    assert a.data == astronaut_png() and a.provenance and a.provenance.member == "a.png"
    assert b.error and "nothing to scan" in b.error
    assert c.error and c.data is None and c.path is None  # a path is never opened
    small = TableReader(max_member_bytes=100)
    assert "over the 100-byte limit" in (next(iter(small.read(shard))).error or "")


def test_vanished_file_is_an_error_item(parquet: Path) -> None:
    reader = TableReader()
    (shard,) = reader.shards(str(parquet))
    parquet.unlink()
    (item,) = reader.read(shard)
    assert item.error and str(parquet) in item.error


def test_hashes_only_100k_rows_via_read_batches_is_fast(tmp_path: Path) -> None:
    n = 100_000
    md5 = [hashlib.md5(i.to_bytes(4, "little")).hexdigest() for i in range(n)]
    sha = [hashlib.sha256(i.to_bytes(4, "little")).hexdigest() for i in range(n)]
    table = pa.table({"key": [f"{i:09d}" for i in range(n)], "md5": md5, "sha256": sha})
    pq.write_table(table, tmp_path / "hashes.parquet", row_group_size=25_000)
    reader = TableReader()
    shards = reader.shards(str(tmp_path / "hashes.parquet"))
    t0 = time.process_time()  # CPU time: the test machine may be shared and busy
    batches = [b for s in shards for b in reader.read_batches(s)]
    elapsed = time.process_time() - t0
    out = pa.Table.from_batches(batches, BATCH_SCHEMA)
    assert out.num_rows == n and out.column("error").null_count == n
    assert out.column("md5").to_pylist()[12345] == md5[12345]
    assert elapsed < 1.0, f"{elapsed:.2f}s for {n} rows"


def test_csv_line_with_wrong_field_count_costs_one_item_not_the_rest(tmp_path: Path) -> None:
    lines = ["id,md5,caption"] + [f"r{i},{i:032x},a photo {i}" for i in range(70_000)]
    lines.insert(30_001, "broken,too,many,fields,here")  # inside the first parse block
    lines.append("short,line")  # the last line
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = reader_for(str(path))
    found = [it for shard in reader.shards(str(path)) for it in reader.read(shard)]
    assert len(found) == 70_002  # rows out = lines in
    errors = [it for it in found if it.error]
    assert len(errors) == 2
    assert len({it.id for it in found}) == len(found)
    assert "expected 3 fields, got 5" in str(errors[0].error)
    assert all("broken" not in str(it.error) for it in errors)  # the line's text is not copied
    good = [it for it in found if not it.error]
    assert [it.hashes["md5"] for it in good[:2]] == [f"{0:032x}", f"{1:032x}"]
