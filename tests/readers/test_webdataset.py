"""WebDataset tars: contract, grouping, hostile members, truncation and corruption."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from tests.readers.conftest import add, jpeg, samples, write_tar

from childsafe.content.base import Item
from childsafe.readers import WebDatasetReader
from childsafe.readers.base import Reader
from childsafe.readers.testing import ReaderContract, read_all


class TestWebDatasetContract(ReaderContract):
    @pytest.fixture
    def reader(self) -> Reader:
        return WebDatasetReader()

    @pytest.fixture
    def source(self, wds_dir: Path) -> str:
        return str(wds_dir / "shard-{00000..00002}.tar")

    @pytest.fixture
    def expected_items(self) -> int:
        return 12

    @pytest.fixture
    def expected_errors(self) -> int:
        return 0


class TestTarGzContract(TestWebDatasetContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        for s in range(2):
            write_tar(tmp_path / f"part-{s}.tar.gz", samples(6, 6 * s), "w:gz")
        return str(tmp_path / "part-{0,1}.tar.gz")


class TestHostileContract(TestWebDatasetContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        with tarfile.open(tmp_path / "bad.tar", "w") as tf:
            for name, data in samples(2):
                add(tf, name, data)
            add(tf, "../escape.jpg", jpeg(3))
            add(tf, "/abs/path.jpg", jpeg(3))
            add(tf, "000009.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")
            add(tf, "000010.jpg", type=tarfile.LNKTYPE, linkname="000000.jpg")
            add(tf, "dev.jpg", type=tarfile.CHRTYPE)
            add(tf, "000000.jpg", jpeg(4))  # a repeated name
        return str(tmp_path / "bad.tar")

    @pytest.fixture
    def expected_items(self) -> int:
        return 8

    @pytest.fixture
    def expected_errors(self) -> int:
        return 5


def _read(path: Path, **options: int) -> list[Item]:
    reader = WebDatasetReader(**options)
    return read_all(reader, reader.shards(str(path)))


def test_groups_carry_caption_and_metadata(wds_dir: Path) -> None:
    first = _read(wds_dir / "shard-00000.tar")[0]
    assert first.id == "shard-00000/000000.jpg"
    assert first.data == jpeg(0) and first.text == "a cat on a sofa"
    p = first.provenance
    assert p is not None and p.url == "https://example.org/000000.jpg"
    assert p.extra["licence"] == "cc-by" and p.extra["crawl_date"] == "2024"
    assert len(p.extra["caption_sha256"]) == 64


def test_text_only_key_and_unicode_names(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / "t.tar",
        [("only.txt", b"two cups of tea"), ("dir/фото.jpg", jpeg(1)), ("dir/фото.txt", b"tea")],
    )
    items = _read(path)
    assert [i.id for i in items] == ["t/only.txt", "t/dir/фото.jpg"]
    assert items[0].text == "two cups of tea" and items[1].text == "tea"


def test_corrupt_jpeg_and_zero_byte_members_are_kept(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "c.tar", [("a.jpg", jpeg(1)[:40]), ("b.jpg", b"")])
    items = _read(path)
    assert [(i.data, i.error) for i in items] == [(jpeg(1)[:40], None), (b"", None)]


def test_size_cap_is_not_read_into_memory(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "big.tar", [("a.jpg", jpeg(1)), ("b.jpg", b"x" * 5000)])
    items = _read(path, max_member_bytes=4096)
    assert items[0].error is None
    assert items[1].data is None and "over the 4096-byte limit" in (items[1].error or "")


def test_huge_declared_size_then_recovery(tmp_path: Path) -> None:
    path = tmp_path / "lie.tar"
    with tarfile.open(path, "w") as tf:
        add(tf, "a.jpg", jpeg(1))
        add(tf, "z.jpg", jpeg(2))
        add(tf, "c.jpg", jpeg(3))
    raw = bytearray(path.read_bytes())
    z = raw.find(b"z.jpg")
    info = tarfile.TarInfo.frombuf(bytes(raw[z : z + 512]), "utf-8", "strict")
    info.size = 1 << 40  # declares a terabyte
    raw[z : z + 512] = info.tobuf(tarfile.GNU_FORMAT)
    path.write_bytes(bytes(raw))
    items = _read(path)
    assert items[0].error is None
    assert "over the" in (items[1].error or "") and items[1].data is None
    assert "skipped to the next header" in (items[2].error or "")
    assert items[3].id.endswith("/c.jpg") and items[3].data == jpeg(3)
    assert items[3].provenance is not None and "recovered" in items[3].provenance.extra


def test_garbage_mid_archive_is_one_error_and_later_members_recovered(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "g.tar", [(f"{i}.jpg", jpeg(i)) for i in range(4)])
    raw = bytearray(path.read_bytes())
    second = raw.find(b"1.jpg")
    raw[second : second + 512] = b"\xab" * 512  # destroy one header
    path.write_bytes(bytes(raw))
    items = _read(path)
    errors = [i for i in items if i.error]
    assert len(errors) == 1 and "corrupt member header" in (errors[0].error or "")
    assert [i.id.rsplit("/", 1)[1] for i in items if not i.error] == ["0.jpg", "2.jpg", "3.jpg"]


def _headers_before(raw: bytes, cut: int) -> int:
    """Members whose 512-byte header lies wholly before ``cut``."""
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        return sum(m.offset + 512 <= cut for m in tf.getmembers())


def test_truncation_at_every_point_never_raises_and_keeps_headers(tmp_path: Path) -> None:
    members = [(f"{i:03d}.jpg", jpeg(i)[: 300 + 97 * i]) for i in range(6)]
    raw = write_tar(tmp_path / "full.tar", members).read_bytes()
    with tarfile.open(tmp_path / "full.tar") as tf:
        end = max(m.offset_data + m.size for m in tf.getmembers())
    marker = end + (-end % 512)  # where the end-of-archive zero blocks begin
    cut_path = tmp_path / "cut.tar"
    for cut in [*range(0, end + 1100, 61), end, end + 512]:
        cut_path.write_bytes(raw[:cut])
        items = _read(cut_path)  # must not raise
        assert len(items) >= _headers_before(raw, cut)
        ok = [i for i in items if i.error is None]
        for item in ok:  # every item read whole is byte-exact
            assert item.data == dict(members)[item.id.rsplit("/", 1)[1]]
        if cut < marker + 512:  # not even one zero block: the truncation is reported once
            assert sum("lost" in (i.error or "") for i in items) == 1, cut


def test_truncated_gzip(tmp_path: Path) -> None:
    raw = write_tar(tmp_path / "z.tar.gz", samples(20), "w:gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(raw[: len(raw) // 2])
    items = _read(tmp_path / "cut.tar.gz")
    assert items and "lost" in (items[-1].error or items[-2].error or "")
    assert sum(i.error is None for i in items) >= 1


@pytest.mark.parametrize("content", [b"", b"not a tar at all" * 100])
def test_not_a_tar_is_one_error_item(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.tar").write_bytes(content)
    (item,) = _read(tmp_path / "x.tar")
    assert item.error and "x.tar" in item.error


def test_vanished_shard_is_an_error_item(wds_dir: Path) -> None:
    reader = WebDatasetReader()
    (shard,) = reader.shards(str(wds_dir / "shard-00001.tar"))
    (wds_dir / "shard-00001.tar").unlink()
    (item,) = reader.read(shard)
    assert "cannot open tar" in (item.error or "")


def test_hostile_members_say_why(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "h.tar", "w") as tf:
        add(tf, "../up.jpg", jpeg(1))
        add(tf, "C:evil.jpg", jpeg(1))
        add(tf, "s.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add(tf, "h.jpg", type=tarfile.LNKTYPE, linkname="../up.jpg")
        add(tf, "fifo.jpg", type=tarfile.FIFOTYPE)
        add(tf, "a.jpg", jpeg(2))
        add(tf, "a.jpg", jpeg(3))
    items = _read(tmp_path / "h.tar")
    errors = [i.error or "" for i in items]
    assert "unsafe member name" in errors[0] and "unsafe member name" in errors[1]
    assert "symlink member not followed (-> /etc/passwd)" in errors[2]
    assert "hardlink member not followed" in errors[3]
    assert "special member" in errors[4]
    with tarfile.open(tmp_path / "h.tar") as tf:
        repeat_at = tf.getmembers()[-1].offset
    assert [i.id for i in items[5:]] == ["h/a.jpg", f"h/a.jpg@{repeat_at}"]
    assert [i.data for i in items[5:]] == [jpeg(2), jpeg(3)]
    assert all(i.data is None for i in items[:5])
