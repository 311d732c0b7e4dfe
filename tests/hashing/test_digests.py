"""md5/sha1/sha256: equal to hashlib, streamed, one read for many digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from childsafe.content.base import CHUNK, Item
from childsafe.errors import ContentTooLarge
from childsafe.hashing._digest import digest_many
from childsafe.hashing.md5 import MD5Hasher
from childsafe.hashing.sha1 import SHA1Hasher
from childsafe.hashing.sha256 import SHA256Hasher

DATA = bytes(range(256)) * 9000 + b"tail"  # > 2 chunks
HASHERS = [MD5Hasher(), SHA1Hasher(), SHA256Hasher()]


@pytest.mark.parametrize("hasher", HASHERS, ids=lambda h: h.name)
def test_equal_to_hashlib_from_bytes_and_path(hasher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    want = hashlib.new(hasher.name, DATA).hexdigest()
    assert hasher.hash_item(Item.from_bytes(DATA, id="b")).value == want
    assert hasher.hash_item(Item.from_path(path)).value == want
    assert (
        hasher.hash_item(Item.from_bytes(b"", id="e")).value == hashlib.new(hasher.name).hexdigest()
    )


def test_digests_stream_in_chunks_and_share_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    reads: list[int] = []
    real_open = Item.open

    def counting_open(self: Item):  # type: ignore[no-untyped-def]
        f = real_open(self)
        real_read = f.read

        def read(n: int = -1) -> bytes:
            assert n != -1, "digests must not read a whole file at once"
            chunk = real_read(n)
            reads.append(len(chunk))
            return chunk

        f.read = read  # type: ignore[method-assign]
        return f

    monkeypatch.setattr(Item, "open", counting_open)
    out = digest_many(Item.from_path(path), HASHERS)
    assert max(reads) <= CHUNK and sum(reads) == len(DATA)
    assert {k: v.value for k, v in out.items()} == {
        h.name: hashlib.new(h.name, DATA).hexdigest() for h in HASHERS
    }


def test_max_bytes_refuses_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    with pytest.raises(ContentTooLarge, match=r"big\.bin"):
        MD5Hasher(max_bytes=1000).hash_item(Item.from_path(path))


def test_validate_canonicalises_case_and_whitespace() -> None:
    v = hashlib.md5(b"x").hexdigest()
    assert MD5Hasher().validate(f"  {v.upper()}\n") == v
    assert MD5Hasher().distance(v, v) == 0 and MD5Hasher().distance(v, "0" * 32) == 1
