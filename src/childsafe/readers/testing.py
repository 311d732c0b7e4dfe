"""The contract every reader keeps, as a pytest kit (STYLE 19).

Subclass :class:`ReaderContract` in a ``Test...`` class and provide the fixtures ``reader``
(the instance under test), ``source`` (a source string it handles) and ``expected_items``
(how many items the whole source must yield), and optionally ``expected_errors``::

    class TestFolderContract(ReaderContract):
        @pytest.fixture
        def reader(self) -> Reader:
            return FolderReader(shard_size=2)
        ...

The checks are what the scan relies on: shards are deterministic, picklable and have unique,
file-name-safe ids that change with the source ``index``; every member yields exactly one
item, with ids unique and identical across two reads and across a pickled copy of the reader;
reading never raises (errors are items); every item carries provenance naming its source,
shard and member or row, and has something to scan or an error saying why not.
"""

from __future__ import annotations

import pickle
import re

import pytest

from childsafe.content.base import Item
from childsafe.readers import READERS, reader_for
from childsafe.readers.base import Reader, Shard

SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def read_all(reader: Reader, shards: list[Shard]) -> list[Item]:
    """Every item of every shard, in order."""
    return [item for shard in shards for item in reader.read(shard)]


class ReaderContract:
    """Mix-in of contract tests; see the module docstring for the fixtures it needs."""

    @pytest.fixture
    def expected_errors(self) -> int | None:
        """Override with the number of error items the source must yield; None skips."""
        return None

    def test_registered_and_sniffed(self, reader: Reader, source: str) -> None:
        assert type(reader) in READERS
        assert reader.name == type(reader).name and reader.name.isidentifier()
        assert type(reader).sniff(source)
        assert type(reader_for(source)) is type(reader)

    def test_shards_deterministic_picklable_safe(self, reader: Reader, source: str) -> None:
        shards = reader.shards(source)
        assert shards == reader.shards(source)
        assert pickle.loads(pickle.dumps(shards)) == shards
        ids = [s.shard_id for s in shards]
        assert len(set(ids)) == len(ids), "shard ids must be unique"
        for s in shards:
            assert SAFE_ID.fullmatch(s.shard_id), f"not file-name safe: {s.shard_id!r}"
            assert s.reader == reader.name and s.source == source

    def test_index_keeps_sources_apart(self, reader: Reader, source: str) -> None:
        first = {s.shard_id for s in reader.shards(source, index=0)}
        second = {s.shard_id for s in reader.shards(source, index=1)}
        assert first and not first & second
        items0 = read_all(reader, reader.shards(source, index=0))
        items1 = read_all(reader, reader.shards(source, index=1))
        assert not {i.id for i in items0} & {i.id for i in items1}

    def test_one_item_per_member_ids_unique_and_stable(
        self, reader: Reader, source: str, expected_items: int
    ) -> None:
        shards = reader.shards(source)
        first = [i.id for i in read_all(reader, shards)]
        assert len(first) == expected_items
        assert len(set(first)) == len(first), "item ids must be unique"
        clone = pickle.loads(pickle.dumps(reader))
        assert [i.id for i in read_all(clone, clone.shards(source))] == first

    def test_provenance_and_something_to_scan(self, reader: Reader, source: str) -> None:
        for shard in reader.shards(source):
            for item in reader.read(shard):
                p = item.provenance
                assert p is not None, item.id
                assert (p.source, p.shard) == (source, shard.shard_id)
                assert p.member is not None or p.row is not None, item.id
                assert item.has_content or item.hashes or item.text or item.error, item.id
                if item.error is not None:
                    assert item.error.strip(), item.id

    def test_errors_are_items(
        self, reader: Reader, source: str, expected_errors: int | None
    ) -> None:
        if expected_errors is None:
            pytest.skip("no expected error count given")
        items = read_all(reader, reader.shards(source))
        assert sum(i.error is not None for i in items) == expected_errors
