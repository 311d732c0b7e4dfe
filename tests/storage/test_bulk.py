"""The bulk insert's fast paths against the general one, on both databases.

A batch of :class:`Columns` is staged as numpy ``Hashes``; any other batch as ``Rows``. On
PostgreSQL an empty bank skips the conflict check. Each must leave the bank exactly as the
general path does: same counts, versions, provenance (the last record wins), tombstones,
revivals and ``changes_since``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from childsafe.banks import RecordBatch
from childsafe.banks.base import ImportRecord
from childsafe.banks.batch import Columns
from childsafe.storage import SqlBankStore, bulk, open_store
from childsafe.storage.engine import MIGRATIONS
from childsafe.storage.staging import Hashes, Rows, stage

R = random.Random(13)
POOL = [f"{i * 0x9E3779B1:032x}"[-32:] for i in range(10)]
LABELS = [None, "a", "b ✓"]

batch_st = st.lists(
    st.tuples(st.sampled_from(POOL), st.booleans(), st.sampled_from(LABELS)), max_size=8
)


def as_columns(batch: list[tuple[str, bool, str | None]]) -> RecordBatch:
    provs = [(label, "src", None, None) for label in LABELS]
    ids = [LABELS.index(label) for _, _, label in batch]
    values = [v for v, _, _ in batch]
    return RecordBatch.from_columns(Columns("md5", values, range(1, len(values) + 1), provs, ids))


def as_records(batch: list[tuple[str, bool, str | None]]) -> list[ImportRecord]:
    return [ImportRecord("md5", v, label=lb, source="src", deleted=d) for v, d, lb in batch]


def state(store: SqlBankStore, name: str) -> dict[str, tuple[object, ...]]:
    return {
        e.value: (e.label, e.source, e.added_version, e.deleted)
        for e in store.iter_entries(name, include_deleted=True)
    }


def changes(store: SqlBankStore, name: str, version: int) -> tuple[list[object], list[str]]:
    ch = store.changes_since(name, version)
    ids = {e.entry_id: e.value for e in store.iter_entries(name, include_deleted=True)}
    return sorted((e.value, e.label) for e in ch.added), sorted(ids[i] for i in ch.removed)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(batch_st, min_size=1, max_size=6))
def test_fast_paths_match_the_general_path(
    store: SqlBankStore,
    monkeypatch: pytest.MonkeyPatch,
    batches: list[list[tuple[str, bool, str | None]]],
) -> None:
    fast, slow = f"f{R.getrandbits(40):x}", f"s{R.getrandbits(40):x}"
    store.create_bank(fast)
    store.create_bank(slow)
    for batch in batches:
        with_deletes = any(d for _, d, _ in batch)
        got = store.apply(
            fast, as_records(batch) if with_deletes else as_columns(batch), source="p"
        )
        with monkeypatch.context() as m:  # the general path: rows, and a conflict check always
            m.setattr(bulk, "bank_is_empty", lambda conn, bank_id: False)
            want = store.apply(slow, list(as_records(batch)), source="p")
        assert (got.version, got.added, got.duplicates, got.removed, got.records) == (
            want.version, want.added, want.duplicates, want.removed, want.records
        )  # fmt: skip
        assert state(store, fast) == state(store, slow)
    for v in range(store.get_bank(slow).version + 1):
        assert changes(store, fast, v) == changes(store, slow, v)
    store.delete_bank(fast)
    store.delete_bank(slow)


def test_staging_picks_the_form_and_last_record_wins() -> None:
    batch = as_columns([(POOL[1], False, "a"), (POOL[0], False, None), (POOL[1], False, "b ✓")])
    hashes, removes = stage(batch)
    assert isinstance(hashes, Hashes) and removes == []
    assert [v.decode() for v in hashes.values] == sorted([POOL[0], POOL[1]])
    assert hashes.provenance_of("md5", POOL[1]) == ("md5", "b ✓", "src", None, None)
    assert hashes.provenance_of("md5", POOL[2]) is None
    assert hashes.provenance_of("sha1", POOL[1]) is None
    rows, _ = stage(RecordBatch.of(as_records([(POOL[0], False, None), ("é", False, None)])))
    assert isinstance(rows, Rows) and rows.values == sorted([POOL[0], "é"])


def test_hashes_blocks_pad_provenance_ids() -> None:
    provs = [(f"l{i}", None, None, None) for i in range(12)]
    values = ["aa", "cc", "bb"]
    c = Columns("md5", values, range(1, 4), provs, [11, 0, 3])
    hashes = Hashes.of(c)
    assert hashes is not None
    assert list(hashes.json_blocks()) == ['["11:aa","03:bb","00:cc"]']
    assert list(hashes.copy_blocks()) == [b"aa\t11\nbb\t03\ncc\t00\n"]
    one = Hashes.of(Columns("md5", ["bb", "aa", "bb"], range(1, 4)))
    assert one is not None and list(one.copy_blocks()) == [b"aa\nbb\n"]
    assert Hashes.of(Columns("md5", ["a", "bb"], range(1, 3))) is None  # not one width
    assert Hashes.of(Columns("md5", ['a"', "bb"], range(1, 3))) is None  # needs escaping


def test_many_provenances_and_chunks(store: SqlBankStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("childsafe.storage.staging.CHUNK", 7)  # several blocks per insert
    values = [f"{R.getrandbits(128):032x}" for _ in range(40)]
    provs = [(f"label-{i}", f"src-{i % 3}", f"id{i}", None) for i in range(15)]
    ids = [i % 15 for i in range(40)]
    store.create_bank("b")
    res = store.apply(
        "b", RecordBatch.from_columns(Columns("md5", values, range(40), provs, ids)), source="s"
    )
    assert (res.added, res.duplicates) == (40, 0)
    got = {e.value: (e.label, e.source, e.external_id) for e in store.iter_entries("b")}
    assert got == {v: provs[i][:3] for v, i in zip(values, ids, strict=True)}
    assert (
        store.apply(
            "b", RecordBatch.from_columns(Columns("md5", values, range(40), provs, ids)), source="s"
        ).added
        == 0
    )


@pytest.mark.parametrize(
    "value", ['q"uote', "back\\slash", "tab\there", "new\nline", "cr\r", "Ünï ✓", "a:b"]
)
def test_values_that_need_escaping(store: SqlBankStore, value: str) -> None:
    """The store does not validate: whatever a caller passes must arrive intact."""
    store.create_bank("b")
    recs = [ImportRecord("custom", value, label="l\tx"), ImportRecord("md5", "0" * 32)]
    assert store.apply("b", recs, source="s").added == 2
    assert store.apply("b", recs, source="s").added == 0
    assert {(e.hash_type, e.value, e.label) for e in store.iter_entries("b")} == {
        ("custom", value, "l\tx"),
        ("md5", "0" * 32, None),
    }


def test_delete_bank_deletes_its_entries(store: SqlBankStore) -> None:
    """entries.bank_id has no foreign key: delete_bank itself must leave no orphan."""
    for name in ("a", "b"):
        store.create_bank(name)
        store.apply(name, [ImportRecord("md5", v) for v in POOL], source="s")
    store.delete_bank("b")
    store.create_bank("b")  # SQLite may hand out the same id again
    assert list(store.iter_entries("b")) == []
    assert len(list(store.iter_entries("a"))) == len(POOL)
    with store.engine.connect() as conn:
        orphans = conn.execute(
            text("SELECT count(*) FROM entries WHERE bank_id NOT IN (SELECT id FROM banks)")
        ).scalar()
    assert orphans == 0


def test_iter_entries_timestamps_are_utc_and_per_import(store: SqlBankStore) -> None:
    store.create_bank("b")
    store.apply("b", [ImportRecord("md5", POOL[0])], source="s")
    store.apply("b", [ImportRecord("md5", POOL[1])], source="s")
    first, second = store.iter_entries("b")
    assert first.added_at.tzinfo is not None and second.added_at.tzinfo is not None
    assert first.added_at < second.added_at


def test_migration_0002_keeps_entries(tmp_path: Path) -> None:
    """Upgrading a 0001 database (foreign key and all) keeps every entry and drops the key."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO banks VALUES (1, 'old', 1, '', 31, 50, '2025-01-01')"))
        conn.execute(
            text(
                "INSERT INTO entries (bank_id, hash_type, value, added_at, added_version,"
                " first_added_version, deleted) VALUES (1, 'md5', :v, '2025-01-01', 1, 1, 0)"
            ),
            [{"v": v} for v in POOL],
        )
    engine.dispose()
    store = open_store(url)
    try:
        assert sorted(e.value for e in store.iter_entries("old")) == sorted(POOL)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_list(entries)").all() == []
        store.apply("old", [ImportRecord("md5", "f" * 32)], source="s")
        assert store.get_bank("old").entry_count == len(POOL) + 1
    finally:
        store.close()


@pytest.fixture
def big_values() -> Iterator[list[str]]:
    yield [f"{R.getrandbits(256):064x}" for _ in range(50_000)]


def test_numpy_order_is_python_order(big_values: list[str]) -> None:
    hashes = Hashes.of(Columns("pdq", big_values + big_values[:10], range(50_010)))
    assert hashes is not None
    assert np.array_equal(hashes.values, np.array(sorted(set(big_values)), dtype="S64"))
