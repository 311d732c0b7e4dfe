"""Item: content sniffing, hashes-only items and the no-follow open used by dataset readers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from childsafe.content.base import Item, detect_kind
from childsafe.errors import CorruptContent, UnsupportedContent


def test_no_follow_refuses_a_link_swapped_in_after_planning(tmp_path: Path) -> None:
    target = tmp_path / "secret.bin"
    target.write_bytes(b"outside the dataset")
    link = tmp_path / "photo.jpg"
    link.symlink_to(target)
    with pytest.raises(CorruptContent, match=r"photo\.jpg"):
        Item(id="photo.jpg", path=link, follow_symlinks=False).open()
    with Item.from_path(link).open() as f:  # a path a user names on the command line is followed
        assert f.read() == b"outside the dataset"


def test_hashes_only_item_has_no_content() -> None:
    item = Item.from_hashes({"md5": "0" * 32}, id="row-1")
    assert not item.has_content
    with pytest.raises(UnsupportedContent, match="row-1"):
        item.size()
    with pytest.raises(UnsupportedContent, match="row-1"):
        item.open()


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (b"\xff\xd8\xff\xe0", "x.bin", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "x", "image"),
        (b"\x00\x00\x00\x18ftypmp42", "clip", "video"),
        (b"\x1a\x45\xdf\xa3", "clip", "video"),
        (b"hello", "clip.mp4", "video"),
        (b"hello", "notes.jpg", "other"),  # an extension is not content
    ],
)
def test_detect_kind_trusts_bytes_over_names(head: bytes, name: str, kind: str) -> None:
    assert detect_kind(head, name) == kind


def test_fifo_is_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedContent, match=r"pipe\.jpg: not a regular file"):
        Item.from_path(fifo).size()
