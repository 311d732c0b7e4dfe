"""The contract every hasher keeps, as a pytest kit (STYLE 19).

Subclass :class:`HasherContract` in a ``Test...`` class and provide the fixtures ``hasher``
(the instance under test), ``positive_item`` (content it hashes) and, for hashers limited to
some kinds, ``negative_item`` (content it must refuse)::

    class TestPDQContract(HasherContract):
        @pytest.fixture
        def hasher(self) -> Hasher:
            return PDQHasher()
        ...

The checks are what the rest of childsafe relies on: the name is a registered, stable storage
key; hashing is deterministic; every value it emits passes its own ``validate`` (and
canonical forms are fixed points); malformed strings raise ``HashFormatError``; bad content
raises a ``ContentError`` and nothing else, so a batch turns it into one error row; and the
hasher pickles small, because worker processes receive it.
"""

from __future__ import annotations

import pickle

import pytest

from childsafe.content.base import Item
from childsafe.errors import ContentError, HashFormatError, UnsupportedContent
from childsafe.hashing import registry
from childsafe.hashing.base import Hasher

MAX_PICKLE_BYTES = 4096


def _bytes_of(item: Item) -> bytes:
    return b"".join(item.chunks())


class HasherContract:
    """Mix-in of contract tests; see the module docstring for the fixtures it needs."""

    @pytest.fixture
    def negative_item(self) -> Item | None:
        """Override with content the hasher must refuse; None skips that test."""
        return None

    def test_name_is_a_registered_stable_key(self, hasher: Hasher) -> None:
        name = hasher.name
        assert name == type(hasher).name, "name must be a class-level constant"
        assert name.isascii() and name.replace("_", "").isalnum() and name == name.lower()
        targets = registry.available(None if name in registry.BUILTINS else [name])
        module, _, attr = targets[name].partition(":")
        assert (type(hasher).__module__, type(hasher).__name__) == (module, attr)
        assert type(registry.get_hasher(name, [name])) is type(hasher)

    def test_deterministic(self, hasher: Hasher, positive_item: Item) -> None:
        first = hasher.hash_item(positive_item)
        assert hasher.hash_item(positive_item) == first
        assert first.hash_type == hasher.name

    def test_output_validates_and_canonical_is_idempotent(
        self, hasher: Hasher, positive_item: Item
    ) -> None:
        result = hasher.hash_item(positive_item)
        for value in (result.value, *result.variants):
            assert hasher.validate(value) == value, "emitted values must already be canonical"
            assert hasher.validate(hasher.validate(value)) == value

    def test_distance_to_self_is_zero(self, hasher: Hasher, positive_item: Item) -> None:
        value = hasher.hash_item(positive_item).value
        assert hasher.distance(value, value) == 0

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda v: "",
            lambda v: "not a hash",
            lambda v: v[:-1],
            lambda v: v + "0",
            lambda v: "\x00" * len(v),
            lambda v: "g" * len(v),
        ],
        ids=["empty", "words", "short", "long", "nul", "non-hex"],
    )
    def test_malformed_strings_raise_hash_format_error(
        self, hasher: Hasher, positive_item: Item, mutate: object
    ) -> None:
        value = hasher.hash_item(positive_item).value
        bad = mutate(value)  # type: ignore[operator]
        with pytest.raises(HashFormatError):
            hasher.validate(bad)

    def test_unsupported_content_is_refused(
        self, hasher: Hasher, negative_item: Item | None
    ) -> None:
        if negative_item is None:
            pytest.skip("hasher applies to every kind of content")
        assert not hasher.applies_to(negative_item)
        with pytest.raises(UnsupportedContent):
            hasher.hash_item(negative_item)

    def test_zero_bytes(self, hasher: Hasher) -> None:
        item = Item.from_bytes(b"", id="empty-item")
        if hasher.kinds is None:
            _hash_or_content_error(hasher, item)
        else:
            with pytest.raises(ContentError, match="empty-item"):
                hasher.hash_item(item)

    @pytest.mark.parametrize("damage", ["truncated", "garbled", "random"])
    def test_corrupt_bytes_give_content_error_only(
        self, hasher: Hasher, positive_item: Item, damage: str
    ) -> None:
        data = _bytes_of(positive_item)
        if damage == "truncated":
            data = data[: max(1, len(data) // 3)]
        elif damage == "garbled":
            data = data[:64] + bytes(reversed(data[64:]))
        else:
            data = bytes((i * 7919 + 13) % 251 for i in range(4096))
        _hash_or_content_error(hasher, Item.from_bytes(data, id=f"{damage}-item"))

    def test_pickles_small_and_equal(self, hasher: Hasher, positive_item: Item) -> None:
        blob = pickle.dumps(hasher)
        assert len(blob) < MAX_PICKLE_BYTES
        clone = pickle.loads(blob)
        assert type(clone) is type(hasher)
        assert clone.hash_item(positive_item) == hasher.hash_item(positive_item)


def _hash_or_content_error(hasher: Hasher, item: Item) -> None:
    """Either a valid hash or a ContentError naming the item; never any other exception."""
    try:
        result = hasher.hash_item(item)
    except ContentError as exc:
        assert item.id in str(exc), f"error must name the item: {exc}"
        return
    assert hasher.validate(result.value) == result.value
