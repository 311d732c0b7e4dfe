"""Every built-in hasher passes the contract kit."""

from __future__ import annotations

import pytest

from childsafe.content.base import Item
from childsafe.hashing.base import Hasher
from childsafe.hashing.md5 import MD5Hasher
from childsafe.hashing.pdq import PDQHasher
from childsafe.hashing.sha1 import SHA1Hasher
from childsafe.hashing.sha256 import SHA256Hasher
from childsafe.hashing.testing import HasherContract


class DigestContract(HasherContract):
    @pytest.fixture
    def positive_item(self, jpeg_item: Item) -> Item:
        return jpeg_item


class TestMD5Contract(DigestContract):
    @pytest.fixture
    def hasher(self) -> Hasher:
        return MD5Hasher()


class TestSHA1Contract(DigestContract):
    @pytest.fixture
    def hasher(self) -> Hasher:
        return SHA1Hasher()


class TestSHA256Contract(DigestContract):
    @pytest.fixture
    def hasher(self) -> Hasher:
        return SHA256Hasher()


class TestPDQContract(HasherContract):
    @pytest.fixture(params=[True, False], ids=["fast", "reference"])
    def hasher(self, request: pytest.FixtureRequest) -> Hasher:
        return PDQHasher(fast=request.param)

    @pytest.fixture
    def positive_item(self, jpeg_item: Item) -> Item:
        return jpeg_item

    @pytest.fixture
    def negative_item(self, text_item: Item) -> Item:
        return text_item


class BrokenHasher(PDQHasher):
    """Emits upper-case hex, which is not canonical: the kit must notice."""

    def hash_luma(self, luma):  # type: ignore[no-untyped-def]
        hv = super().hash_luma(luma)
        return type(hv)(hv.hash_type, hv.value.upper(), hv.quality, hv.variants)


def test_kit_catches_a_hasher_that_breaks_the_contract(jpeg_item: Item) -> None:
    kit = HasherContract()
    with pytest.raises(AssertionError):
        kit.test_output_validates_and_canonical_is_idempotent(BrokenHasher(), jpeg_item)
    with pytest.raises(AssertionError):
        kit.test_name_is_a_registered_stable_key(BrokenHasher())
