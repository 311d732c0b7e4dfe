"""Matcher over the in-memory store: rules, incremental sync, persistence."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.matching.memory_store import MemoryStore

from childsafe.banks.base import ImportRecord
from childsafe.errors import HashFormatError
from childsafe.matching import Matcher
from childsafe.types import HashValue


def rand_pdq(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


def near(value: str, bits: int, rng: random.Random) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def pdq(value: str, quality: int | None = 100, variants: tuple[str, ...] = ()) -> dict:
    return {"pdq": HashValue("pdq", value, quality, variants)}


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


@pytest.fixture
def store(rng: random.Random) -> MemoryStore:
    s = MemoryStore()
    s.create_bank("a")
    s.create_bank("b", pdq_radius=10)
    return s


def add(store: MemoryStore, bank: str, hash_type: str, values: list[str], **kw: str) -> None:
    store.apply(bank, [ImportRecord(hash_type, v, **kw) for v in values], source="test.csv")


def test_pdq_and_exact_matches_carry_metadata(store: MemoryStore, rng: random.Random) -> None:
    entry, md5 = rand_pdq(rng), rng.randbytes(16).hex()
    add(store, "a", "pdq", [entry], label="known", source="list-1")
    add(store, "a", "md5", [md5], label="exact")
    matcher = Matcher(store)
    [m] = matcher.match(pdq(near(entry, 31, rng)))
    assert (m.bank, m.hash_type, m.value, m.distance, m.label, m.source) == (
        "a", "pdq", entry, 31, "known", "list-1"
    )  # fmt: skip
    assert matcher.match(pdq(near(entry, 32, rng))) == []
    [e] = matcher.match({"md5": HashValue("md5", md5.upper())})
    assert (e.value, e.distance, e.label, e.source) == (md5, 0, "exact", "test.csv")
    assert matcher.match_hash("md5", md5) == [e]
    with pytest.raises(HashFormatError):
        matcher.match_hash("md5", "xyz")


def test_variants_give_the_smallest_distance(store: MemoryStore, rng: random.Random) -> None:
    entry = rand_pdq(rng)
    add(store, "a", "pdq", [entry])
    matcher = Matcher(store, ["a"])
    query = pdq(rand_pdq(rng), variants=(near(entry, 20, rng), near(entry, 5, rng)))
    [m] = matcher.match(query)
    assert m.distance == 5 and m.value == entry
    assert matcher.match(pdq(query["pdq"].value)) == []


def test_quality_floor(store: MemoryStore, rng: random.Random) -> None:
    entry = rand_pdq(rng)
    add(store, "a", "pdq", [entry])
    matcher = Matcher(store, ["a"])
    report = matcher.explain(pdq(entry, quality=49))
    assert report.matches == [] and report.skipped_low_quality
    assert "below the floor 50" in report.skipped[0].reason
    assert len(matcher.match(pdq(entry, quality=50))) == 1
    assert len(matcher.match(pdq(entry, quality=None))) == 1


def test_per_bank_radius_and_multiple_banks(store: MemoryStore, rng: random.Random) -> None:
    entry = rand_pdq(rng)
    add(store, "a", "pdq", [entry])
    add(store, "b", "pdq", [entry])
    matcher = Matcher(store)
    assert [m.bank for m in matcher.match(pdq(near(entry, 10, rng)))] == ["a", "b"]
    assert [m.bank for m in matcher.match(pdq(near(entry, 11, rng)))] == ["a"]
    store.set_settings("b", pdq_radius=40)
    matcher.sync()
    assert [m.bank for m in matcher.match(pdq(near(entry, 35, rng)))] == ["b"]


def test_allow_list_suppresses(store: MemoryStore, rng: random.Random) -> None:
    entry, md5 = rand_pdq(rng), rng.randbytes(16).hex()
    add(store, "a", "pdq", [entry])
    add(store, "a", "md5", [md5])
    add(store, "b", "pdq", [entry])
    benign = near(entry, 12, rng)
    store.add_allowed("a", "pdq", [near(benign, 8, rng)], "reviewed: benign")
    store.add_allowed("a", "md5", [md5], "reviewed: benign")
    matcher = Matcher(store)
    report = matcher.explain({**pdq(benign), "md5": HashValue("md5", md5)})
    assert [(m.bank, m.hash_type) for m in report.matches] == []  # b's radius 10 < 12
    assert sorted((m.bank, m.hash_type) for m in report.suppressed) == [("a", "md5"), ("a", "pdq")]
    assert [m.bank for m in matcher.match(pdq(entry))] == ["b"]  # b has no allow-list
    store.remove_allowed("a", "pdq", [near(benign, 0, rng)])
    assert matcher.explain(pdq(benign)).suppressed  # not yet synced
    store.remove_allowed("a", "pdq", [a.value for a in store.allowed("a") if a.hash_type == "pdq"])
    matcher.sync()
    assert [m.bank for m in matcher.match(pdq(entry))] == ["a", "b"]


def test_bad_hash_in_batch_is_a_result(store: MemoryStore, rng: random.Random) -> None:
    entry = rand_pdq(rng)
    add(store, "a", "pdq", [entry])
    reports = Matcher(store).explain_many([pdq("zz"), pdq(entry)])
    assert reports[0].skipped[0].code == "bad_hash" and reports[0].matches == []
    assert len(reports[1].matches) == 1


def results(matcher: Matcher, queries: list[dict]) -> list[list[tuple]]:
    return [
        [(m.bank, m.hash_type, m.entry_id, m.distance, m.label) for m in ms]
        for ms in matcher.match_many(queries)
    ]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.booleans()), max_size=8))
def test_incremental_sync_equals_full_build(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[int, int, bool]]
) -> None:
    rng = random.Random(len(ops))
    store = MemoryStore()
    store.create_bank("a")
    pool = [rand_pdq(rng) for _ in range(12)]
    md5s = [rng.randbytes(16).hex() for _ in range(12)]
    index_dir = tmp_path_factory.mktemp("idx")
    live = Matcher(store, index_dir=index_dir)
    live.sync()
    for start, count, delete in ops:
        chunk = slice(start, start + count)
        records = [ImportRecord("pdq", v, label=f"l{start}", deleted=delete) for v in pool[chunk]]
        records += [ImportRecord("md5", v, deleted=delete) for v in md5s[chunk]]
        store.apply("a", records, source="s")
        if rng.random() < 0.5:
            live.sync()
    live.sync()
    queries = [pdq(near(v, 3, rng)) for v in pool] + [{"md5": HashValue("md5", v)} for v in md5s]
    fresh = Matcher(store)
    assert results(live, queries) == results(fresh, queries)
    reloaded = Matcher(store, index_dir=index_dir)
    [sync] = reloaded.sync()
    assert sync.how in {"loaded", "current"} or (sync.how == "built" and not ops)
    assert results(reloaded, queries) == results(fresh, queries)


def test_loading_and_catching_up_from_disk(
    tmp_path: Path, store: MemoryStore, rng: random.Random
) -> None:
    values = [rand_pdq(rng) for _ in range(50)]
    add(store, "a", "pdq", values[:40])
    [first, _] = Matcher(store, index_dir=tmp_path).sync()
    assert first.how == "built"
    add(store, "a", "pdq", values[40:])
    store.apply("a", [ImportRecord("pdq", values[0], deleted=True)], source="s")
    matcher = Matcher(store, ["a"], index_dir=tmp_path)
    [result] = matcher.sync()
    assert (result.how, result.from_version, result.to_version) == ("loaded", 1, 3)
    assert (result.added, result.removed) == (10, 1)
    assert matcher.match(pdq(values[0])) == []
    assert [m.value for m in matcher.match(pdq(values[45]))] == [values[45]]
    assert matcher.sync()[0].how == "current"
    # A damaged saved index is rebuilt, with the reason recorded.
    (tmp_path / "a" / "pdq" / "hashes.npy").write_bytes(b"junk")
    [again] = Matcher(store, ["a"], index_dir=tmp_path).sync()
    assert again.how == "built" and "pdq" in again.note
    # A bank deleted and recreated under the same name is rebuilt, not caught up.
    store.delete_bank("a")
    store.create_bank("a")
    add(store, "a", "pdq", values[:1])
    [fresh] = matcher.sync()
    assert fresh.how == "built"
    assert len(matcher.match(pdq(values[0]))) == 1 and matcher.match(pdq(values[45])) == []
