"""Clean copies: WebDataset tars keep only allowed keys; tables only allowed rows."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tests.scan.test_outputs import context, row, write_part

from childsafe.readers.base import Shard
from childsafe.scan.clean import bottom_k, wds_key
from childsafe.scan.outputs import write_outputs


def _png(seed: int) -> bytes:
    """A small benign generated image (a colour gradient)."""
    rng = np.random.default_rng(seed)
    pixels = (np.linspace(0, 255, 16 * 16 * 3).reshape(16, 16, 3) + rng.integers(0, 9)) % 256
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_tar(path: Path, keys: list[str]) -> None:
    with tarfile.open(path, "w") as tar:
        for i, key in enumerate(keys):
            _add(tar, f"{key}.png", _png(i))
            _add(tar, f"{key}.txt", f"a plain photo number {i}".encode())
        hostile = tarfile.TarInfo("k0.json")  # a link hiding among an allowed key's members
        hostile.type, hostile.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(hostile)
        hard = tarfile.TarInfo("k1.cls")
        hard.type, hard.linkname = tarfile.LNKTYPE, "k0.png"
        tar.addfile(hard)
        _add(tar, "../k0.txt", b"escape attempt")
        _add(tar, "stray.txt", b"a member no item was made from")


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]


def test_wds_key_follows_webdataset() -> None:
    assert wds_key("a/b.c/000001.jpg.gz") == "a/b.c/000001"
    assert wds_key("./000001.txt") == "000001"
    assert wds_key("noext") == "noext"


def test_clean_tar_has_exactly_the_kept_keys_members(tmp_path: Path) -> None:
    src = tmp_path / "data" / "shard-00000.tar"
    src.parent.mkdir()
    keys = ["k0", "k1", "k2", "k3", "k4"]
    make_tar(src, keys)
    shard = Shard("webdataset", str(src.parent), "shard-00000", str(src))
    decisions = {"k0": "allow", "k1": "block", "k2": "review", "k3": "error", "k4": "allow"}
    rows = [row(f"shard-00000/{k}.png", d, member=f"{k}.png") for k, d in decisions.items()]
    part = write_part(tmp_path / "parts", "shard-00000", rows)
    summary = write_outputs(tmp_path / "out", [part], context([shard], write_clean=True))
    clean = tmp_path / "out" / "clean" / "shard-00000.tar"
    members = _members(clean)
    assert sorted(members) == ["k0.png", "k0.txt", "k4.png", "k4.txt"]
    assert members["k0.png"] == _png(0) and members["k4.txt"] == b"a plain photo number 4"
    with tarfile.open(clean) as tar:
        assert all(m.isreg() for m in tar)  # the symlink and hard link were not copied
    stats = summary.data["outputs"]["clean"]["clean/shard-00000.tar"]
    assert stats["copied"] == 4 and stats["unsafe"] == 3 and stats["kept_keys_missing"] == 0
    assert (src.parent / "shard-00000.tar").exists()  # the source is untouched


def test_a_key_with_any_flagged_member_is_dropped_whole(tmp_path: Path) -> None:
    src = tmp_path / "s.tar"
    make_tar(src, ["k0", "k1"])
    shard = Shard("webdataset", str(tmp_path), "s", str(src))
    rows = [row("s/k0.png", member="k0.png"), row("s/k0.txt", "block", member="k0.txt")]
    rows.append(row("s/k1.png", member="k1.png"))
    part = write_part(tmp_path / "parts", "s", rows)
    write_outputs(tmp_path / "out", [part], context([shard], write_clean=True))
    assert sorted(_members(tmp_path / "out" / "clean" / "s.tar")) == ["k1.png", "k1.txt"]


def _table_shard(tmp_path: Path, src: Path, start: int = 0, stop: int | None = None) -> Shard:
    sid = f"meta-{start}"
    return Shard("parquet", str(src), sid, str(src), start, stop)


def test_clean_parquet_drops_quarantined_and_errored_rows(tmp_path: Path) -> None:
    src = tmp_path / "metadata.parquet"
    urls = [f"https://example.org/{i}.jpg" for i in range(10)]
    pq.write_table(pa.table({"URL": urls, "TEXT": [f"caption {i}" for i in range(10)]}), src)
    shards = [_table_shard(tmp_path, src, 0, 6), _table_shard(tmp_path, src, 6, 10)]
    flagged = {2: "block", 3: "review", 7: "error"}
    parts = [
        write_part(
            tmp_path / "parts",
            s.shard_id,
            [row(f"m#{i}", flagged.get(i, "allow"), row=i) for i in range(s.start, s.stop or 0)],
        )
        for s in shards
    ]
    summary = write_outputs(tmp_path / "out", parts, context(shards, write_clean=True))
    clean = pq.read_table(tmp_path / "out" / "clean" / "metadata.parquet")
    assert clean.column_names == ["URL", "TEXT"]
    assert clean["URL"].to_pylist() == [urls[i] for i in range(10) if i not in flagged]
    stats = summary.data["outputs"]["clean"]["clean/metadata.parquet"]
    assert stats == {"rows": 10, "copied": 7}


def test_clean_csv_is_written_as_parquet(tmp_path: Path) -> None:
    src = tmp_path / "links.csv"
    src.write_text("url,caption\nhttps://example.org/a,a cup\nhttps://example.org/b,a tree\n")
    shard = Shard("csv", str(src), "links", str(src))
    part = write_part(tmp_path / "parts", "links", [row("l0", "block", row=0), row("l1", row=1)])
    write_outputs(tmp_path / "out", [part], context([shard], write_clean=True))
    clean = pq.read_table(tmp_path / "out" / "clean" / "links.parquet")
    assert clean.to_pylist() == [{"url": "https://example.org/b", "caption": "a tree"}]


def test_rows_that_do_not_map_onto_the_table_skip_its_clean_copy(tmp_path: Path) -> None:
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"url": ["a", "b"]}), src)
    shard = Shard("parquet", str(src), "t", str(src), 0, 2)
    part = write_part(tmp_path / "parts", "t", [row("t1", row=1), row("t2", "block", row=2)])
    summary = write_outputs(tmp_path / "out", [part], context([shard], write_clean=True))
    assert not (tmp_path / "out" / "clean" / "t.parquet").exists()
    assert any("outside the shard's range" in w for w in summary.warnings)
    assert summary.items == 2  # results are still complete


def test_folder_sources_get_a_list_of_kept_files(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shard = Shard("folder", str(folder), "photos-0", str(folder))
    rows = [row("p/a", member="a.png"), row("p/b", "block", member="sub/b.png")]
    rows.append(row("p/c", member="sub/c.png"))
    part = write_part(tmp_path / "parts", "photos-0", rows)
    write_outputs(tmp_path / "out", [part], context([shard], write_clean=True))
    kept = (tmp_path / "out" / "clean" / "kept_files.txt").read_text().splitlines()
    assert kept == ["a.png", "sub/c.png"]
    assert [p.name for p in (tmp_path / "out" / "clean").iterdir()] == ["kept_files.txt"]


@pytest.mark.parametrize("seed", [0, 1])
def test_bottom_k_ignores_order_and_excluded_ids(seed: int) -> None:
    ids = [f"id{i}" for i in range(100)]
    a = sorted(bottom_k(ids, 10, seed, {"id5"}))
    b = sorted(bottom_k(list(reversed(ids)) + ids[:20], 10, seed, {"id5"}))
    assert a == b and len(a) == 10 and "id5" not in a
