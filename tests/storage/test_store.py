"""SqlBankStore on SQLite and PostgreSQL: banks, apply semantics, versions, allow-list."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from childsafe.banks.base import ImportRecord
from childsafe.errors import BankError, BankNotFound
from childsafe.storage import SqlBankStore, open_store

R = random.Random(11)


def md5s(n: int) -> list[str]:
    return [f"{R.getrandbits(128):032x}" for _ in range(n)]


def add(vals: list[str], **kw: object) -> list[ImportRecord]:
    return [ImportRecord("md5", v, **kw) for v in vals]  # type: ignore[arg-type]


def rm(vals: list[str]) -> list[ImportRecord]:
    return [ImportRecord("md5", v, deleted=True) for v in vals]


def test_bank_crud(store: SqlBankStore) -> None:
    b = store.create_bank("kids", description="d", pdq_radius=20)
    assert (b.name, b.version, b.pdq_radius, b.entry_count) == ("kids", 0, 20, 0)
    with pytest.raises(BankError, match="already exists"):
        store.create_bank("kids")
    assert store.create_bank("kids", exist_ok=True).pdq_radius == 20
    store.create_bank("a")
    assert [x.name for x in store.list_banks()] == ["a", "kids"]
    store.delete_bank("kids")
    with pytest.raises(BankNotFound):
        store.get_bank("kids")
    with pytest.raises(BankNotFound):
        store.delete_bank("kids")
    with pytest.raises(BankNotFound):
        store.apply("kids", add(md5s(1)), source="s")


def test_duplicates_counted_in_batch_and_across(store: SqlBankStore) -> None:
    store.create_bank("b")
    v = md5s(5)
    r1 = store.apply("b", add(v + v[:2]), source="s")
    assert (r1.version, r1.added, r1.duplicates, r1.removed, r1.records) == (1, 5, 2, 0, 7)
    r2 = store.apply("b", add(v[:3] + md5s(1)), source="s")
    assert (r2.version, r2.added, r2.duplicates) == (2, 1, 3)
    assert store.get_bank("b").entry_count == 6


def test_noop_keeps_version(store: SqlBankStore) -> None:
    store.create_bank("b")
    v = md5s(3)
    store.apply("b", add(v), source="s")
    again = store.apply("b", add(v), source="s")
    assert (again.version, again.added, again.duplicates) == (1, 0, 3)
    assert store.apply("b", [], source="s").version == 1
    assert store.changes_since("b", 1).added == []


def test_tombstone_and_revive(store: SqlBankStore) -> None:
    store.create_bank("b")
    v = md5s(3)
    store.apply("b", add(v, label="old"), source="s")
    r = store.apply("b", rm([v[0], md5s(1)[0]]), source="s")
    assert (r.version, r.removed, r.duplicates) == (2, 1, 1)
    assert v[0] not in {e.value for e in store.iter_entries("b")}
    dead = [e for e in store.iter_entries("b", include_deleted=True) if e.deleted]
    assert [e.value for e in dead] == [v[0]]
    r = store.apply("b", add([v[0]], label="new"), source="s2")
    assert (r.version, r.added) == (3, 1)
    revived = next(e for e in store.iter_entries("b") if e.value == v[0])
    assert (revived.entry_id, revived.label, revived.added_version) == (dead[0].entry_id, "new", 3)


def test_last_record_wins_within_batch(store: SqlBankStore) -> None:
    store.create_bank("b")
    (x,) = md5s(1)
    r = store.apply("b", [*add([x]), *rm([x])], source="s")
    assert (r.added, r.removed, r.duplicates, r.version) == (0, 0, 2, 0)


def test_failed_apply_leaves_bank_unchanged(store: SqlBankStore) -> None:
    store.create_bank("b")
    store.apply("b", add(md5s(3)), source="s")
    bad = [*add(md5s(100)), ImportRecord("md5", None)]  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - a driver IntegrityError
        store.apply("b", bad, source="s")
    b = store.get_bank("b")
    assert (b.version, b.entry_count) == (1, 3)


def test_iter_entries_filters(store: SqlBankStore) -> None:
    store.create_bank("b")
    store.apply("b", [*add(md5s(2)), ImportRecord("sha1", "a" * 40)], source="s")
    assert [e.hash_type for e in store.iter_entries("b", hash_type="sha1")] == ["sha1"]
    assert len(list(store.iter_entries("b"))) == 3


def test_allowlist(store: SqlBankStore) -> None:
    store.create_bank("b")
    v = md5s(3)
    assert store.add_allowed("b", "md5", [v[0], v[1], v[0]], "benign logo") == 2
    assert store.add_allowed("b", "md5", [v[1], v[2]], "x") == 1
    assert store.remove_allowed("b", "md5", [v[0], "nothere"]) == 1
    got = store.allowed("b")
    assert [(a.value, a.reason) for a in got] == [(v[1], "benign logo"), (v[2], "x")]
    store.delete_bank("b")
    store.create_bank("b")
    assert store.allowed("b") == []


def test_reopen_is_idempotent(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    s = open_store(url)
    s.create_bank("b")
    s.close()
    s = open_store(url)
    assert s.get_bank("b").version == 0
    s.close()


# changes_since against an in-memory model ---------------------------------------------------

POOL = [f"{i:032x}" for i in range(8)]
ops = st.lists(
    st.lists(st.tuples(st.sampled_from(POOL), st.booleans()), max_size=6), min_size=1, max_size=8
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=ops)
def test_changes_since_matches_model(
    store: SqlBankStore, batches: list[list[tuple[str, bool]]]
) -> None:
    name = f"h{R.getrandbits(40):x}"
    store.create_bank(name)
    states: dict[int, dict[int, str]] = {0: {}}  # version -> {entry_id: value}
    for batch in batches:
        res = store.apply(name, [ImportRecord("md5", v, deleted=d) for v, d in batch], source="p")
        live = {e.entry_id: e.value for e in store.iter_entries(name)}
        if res.version in states:
            assert states[res.version] == live, "a no-op must not change the live set"
        states[res.version] = live
        model = {}
        for v, d in batch:
            model[v] = d
        assert res.records == res.added + res.duplicates + res.removed
    for v, at_v in states.items():
        ch = store.changes_since(name, v)
        index = dict(at_v)
        for i in ch.removed:
            index.pop(i, None)
        index.update({e.entry_id: e.value for e in ch.added})
        assert index == states[max(states)]
        assert set(ch.removed) <= set(at_v) | _tombstoned_at(store, name)
        assert all(e.added_version > v for e in ch.added)
    store.delete_bank(name)


def _tombstoned_at(store: SqlBankStore, name: str) -> set[int]:
    return {e.entry_id for e in store.iter_entries(name, include_deleted=True)}


def test_migrations_match_models(store: SqlBankStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from childsafe.storage.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
