"""hash_file / hash_paths: one read per file, per-file errors, deterministic order."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from tests.hashing.conftest import encode, photo

from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.errors import PluginError
from childsafe.hashing import hash_file, hash_paths
from childsafe.hashing.pdq import PDQHasher


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    jpeg = encode(photo("coffee"), "JPEG", quality=90)
    (root / "b.jpg").write_bytes(jpeg)
    (root / "a.txt").write_text("plain words\n")
    (root / "sub" / "写真 ü.png").write_bytes(encode(photo("rocket"), "PNG"))
    (root / "sub" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "sub" / "deeper" / "noise.jpg").write_bytes(os.urandom(2048))
    (root / "sub" / "deeper" / "empty.gif").write_bytes(b"")
    (root / "broken-link.jpg").symlink_to(root / "nowhere.jpg")
    return root


def test_image_gets_all_default_hashes(tree: Path, settings: Settings) -> None:
    path = tree / "b.jpg"
    fh = hash_file(path, settings=settings)
    data = path.read_bytes()
    assert fh.error is None and fh.errors == {}
    assert list(fh.hashes) == ["md5", "sha1", "sha256", "pdq"]
    assert fh.get("md5") == hashlib.md5(data).hexdigest()
    assert fh.get("sha256") == hashlib.sha256(data).hexdigest()
    assert fh.get("pdq") == PDQHasher().hash_item(Item.from_bytes(data, id="x")).value
    assert fh.path == str(path)


def test_text_file_has_digests_and_no_pdq_error(tree: Path, settings: Settings) -> None:
    fh = hash_file(tree / "a.txt", settings=settings)
    assert set(fh.hashes) == {"md5", "sha1", "sha256"} and fh.errors == {} and fh.error is None


def test_corrupt_and_fake_images_record_pdq_errors(tree: Path, settings: Settings) -> None:
    cut = hash_file(tree / "sub" / "cut.jpg", settings=settings)
    assert "cut.jpg" in cut.errors["pdq"] and "md5" in cut.hashes
    noise = hash_file(tree / "sub" / "deeper" / "noise.jpg", settings=settings)
    assert "named like an image" in noise.errors["pdq"]


@pytest.mark.parametrize("name", ["sub/deeper/empty.gif", "broken-link.jpg", "missing/x.png"])
def test_unreadable_or_empty_files_are_file_errors(
    tree: Path, settings: Settings, name: str
) -> None:
    fh = hash_file(tree / name, settings=settings)
    assert fh.error is not None and Path(name).name in fh.error
    assert fh.hashes == {}


def test_oversized_file_is_refused(tree: Path, tmp_path: Path) -> None:
    fh = hash_file(tree / "b.jpg", settings=Settings(home=tmp_path, max_file_bytes=100))
    assert fh.error is not None and "100-byte limit" in fh.error and fh.hashes == {}


def test_pixel_limit_comes_from_settings(tree: Path, tmp_path: Path) -> None:
    fh = hash_file(tree / "b.jpg", settings=Settings(home=tmp_path, max_image_pixels=1000))
    assert "pixel limit" in fh.errors["pdq"] and "md5" in fh.hashes


def test_small_files_are_opened_once(
    tree: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opens: list[str] = []
    real = Item.open

    def counting(self: Item):  # type: ignore[no-untyped-def]
        if self.path is not None:  # in-memory re-reads are free
            opens.append(self.id)
        return real(self)

    monkeypatch.setattr(Item, "open", counting)
    fh = hash_file(tree / "b.jpg", settings=settings)
    assert "pdq" in fh.hashes
    assert opens == [str(tree / "b.jpg")]


def test_big_files_stream_digests_from_disk(
    tree: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("childsafe.hashing.api.MEMORY_READ_BYTES", 10)
    fh = hash_file(tree / "b.jpg", settings=settings)
    assert fh.get("md5") == hashlib.md5((tree / "b.jpg").read_bytes()).hexdigest()
    assert "pdq" in fh.hashes


def test_hash_paths_expands_sorted_and_never_raises(tree: Path, settings: Settings) -> None:
    extra = tree.parent / "missing.jpg"
    results = list(hash_paths([tree, extra], ("md5", "pdq"), settings=settings))
    names = [Path(r.path).relative_to(tree.parent).as_posix() for r in results]
    assert names == [
        "data/a.txt",
        "data/b.jpg",
        "data/broken-link.jpg",
        "data/sub/cut.jpg",
        "data/sub/deeper/empty.gif",
        "data/sub/deeper/noise.jpg",
        "data/sub/写真 ü.png",
        "missing.jpg",
    ]
    by = {n: r for n, r in zip(names, results, strict=True)}
    assert "pdq" in by["data/sub/写真 ü.png"].hashes
    assert by["missing.jpg"].error is not None
    assert list(hash_paths([tree], ("md5",), settings=settings)) == list(
        hash_paths([tree], ("md5",), settings=settings)
    )


def test_workers_keep_order_and_results(tree: Path, settings: Settings) -> None:
    serial = list(hash_paths([tree], ("md5", "pdq"), settings=settings))
    parallel = list(hash_paths([tree], ("md5", "pdq"), settings=settings, workers=2))
    assert parallel == serial


def test_unknown_hash_type_is_a_caller_error(tree: Path, settings: Settings) -> None:
    with pytest.raises(PluginError, match="nope"):
        hash_file(tree / "b.jpg", ("md5", "nope"), settings=settings)


def test_item_input(settings: Settings) -> None:
    fh = hash_file(Item.from_bytes(b"abc", id="mem"), ("sha1",), settings=settings)
    assert fh.get("sha1") == hashlib.sha1(b"abc").hexdigest() and fh.path == "mem"


def test_default_settings_follow_the_environment(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hash_file reuses its default Settings, but never past a change of CHILDSAFE_*."""
    from childsafe.hashing.api import _settings_from_env

    assert _settings_from_env() is _settings_from_env()
    assert "pdq" in hash_file(tree / "b.jpg").hashes
    monkeypatch.setenv("CHILDSAFE_MAX_IMAGE_PIXELS", "1000")
    assert _settings_from_env().max_image_pixels == 1000
    assert "pdq" in hash_file(tree / "b.jpg").errors
    monkeypatch.delenv("CHILDSAFE_MAX_IMAGE_PIXELS")
    assert "pdq" in hash_file(tree / "b.jpg").hashes
