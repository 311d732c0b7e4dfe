"""The folder reader: contract, sidecars, links, special files, odd names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.readers.conftest import astronaut_png, jpeg

from childsafe.readers import FolderReader
from childsafe.readers.base import Reader
from childsafe.readers.testing import ReaderContract, read_all


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(jpeg(1))
    (root / "a.txt").write_text("a cat on a sofa")
    (root / "a.json").write_text('{"url": "https://example.org/a.jpg", "license": "cc0"}')
    (root / "b.png").write_bytes(astronaut_png())
    (root / "b.png.txt").write_text("an astronaut")
    (root / "orphan.txt").write_text("two cups of tea")  # no media: its own item
    (root / "empty.jpg").write_bytes(b"")
    (root / "sub" / "фото.jpg").write_bytes(jpeg(2))
    (root / "sub" / "notes.bin").write_bytes(b"\x00\x01")
    (root / "link.jpg").symlink_to("/etc/hostname")
    os.mkfifo(root / "pipe.jpg")
    return root


class TestFolderContract(ReaderContract):
    @pytest.fixture
    def reader(self) -> Reader:
        return FolderReader(shard_size=3)

    @pytest.fixture
    def source(self, photos: Path) -> str:
        return str(photos)

    @pytest.fixture
    def expected_items(self) -> int:
        return 8  # a, b, orphan, empty, фото, notes, link, pipe

    @pytest.fixture
    def expected_errors(self) -> int:
        return 2  # link, pipe


def _by_member(photos: Path, **options: int) -> dict[str, object]:
    reader = FolderReader(**options)
    return {i.provenance.member: i for i in read_all(reader, reader.shards(str(photos)))}  # type: ignore[union-attr]


def test_sidecars_attach_and_orphans_stay(photos: Path) -> None:
    items = _by_member(photos)
    a = items["a.jpg"]
    assert a.text == "a cat on a sofa"  # type: ignore[attr-defined]
    assert a.provenance.url == "https://example.org/a.jpg"  # type: ignore[attr-defined]
    assert a.provenance.extra["licence"] == "cc0"  # type: ignore[attr-defined]
    assert items["b.png"].text == "an astronaut"  # type: ignore[attr-defined]
    assert "a.txt" not in items and "b.png.txt" not in items
    assert items["orphan.txt"].text is None  # type: ignore[attr-defined]
    assert items["orphan.txt"].has_content  # type: ignore[attr-defined]


def test_links_special_files_and_empty(photos: Path) -> None:
    items = _by_member(photos)
    assert "symlink not followed" in items["link.jpg"].error  # type: ignore[attr-defined]
    assert items["link.jpg"].path is None  # type: ignore[attr-defined]
    assert "not a regular file" in items["pipe.jpg"].error  # type: ignore[attr-defined]
    empty = items["empty.jpg"]
    assert empty.error is None and empty.size() == 0  # type: ignore[attr-defined]


def test_sorted_shards_and_ids(photos: Path) -> None:
    reader = FolderReader(shard_size=3)
    shards = reader.shards(str(photos))
    assert [s.shard_id for s in shards] == ["photos-00000", "photos-00001", "photos-00002"]
    ids = [i.id for i in read_all(reader, shards)]
    assert ids[0] == "photos-00000/a.jpg"
    assert "photos-00002/sub/фото.jpg" in ids
    assert reader.shards(str(photos), index=2)[0].shard_id == "2_photos-00000"


def test_file_removed_after_planning_is_an_error_item(photos: Path) -> None:
    reader = FolderReader()
    (shard,) = reader.shards(str(photos))
    (photos / "b.png").unlink()
    items = {i.provenance.member: i for i in reader.read(shard)}  # type: ignore[union-attr]
    assert "cannot read" in (items["b.png"].error or "")
    assert len(items) == 8


def test_non_utf8_file_name(tmp_path: Path) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    os.close(os.open(os.fsencode(root) + b"/caf\xe9.jpg", os.O_CREAT | os.O_WRONLY))
    reader = FolderReader()
    (item,) = read_all(reader, reader.shards(str(root)))
    assert item.id == "odd-00000/caf\\xe9.jpg" and item.error is None
    item.id.encode("utf-8")  # ids must be encodable text


def test_empty_folder_has_no_shards(tmp_path: Path) -> None:
    assert FolderReader().shards(str(tmp_path)) == []
