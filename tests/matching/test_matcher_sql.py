"""The Matcher against the real bank store, on SQLite and PostgreSQL (the ``store`` fixture).

``test_matcher.py`` pins the rules on the in-memory double; these tests check that the rules
and, above all, incremental sync hold on the stores users run: SQL revives reuse entry ids,
``changes_since`` lists an id as both removed and added, and bank timestamps round-trip
through the database. vPDQ and video_md5 entries are matched here too.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from childsafe.banks.base import BankStore, ImportRecord
from childsafe.hashing.vpdq import VPDQFrame, VPDQHasher, format_vpdq
from childsafe.matching import Matcher, MatchReport
from childsafe.types import HashValue

Query = Mapping[str, HashValue]


def rand_pdq(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


def near(value: str, bits: int, rng: random.Random) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def video(frames: list[str], quality: int = 100) -> str:
    return format_vpdq([VPDQFrame(h, quality, float(i)) for i, h in enumerate(frames)])


def noisy(value: list[str], bits: int, rng: random.Random) -> list[str]:
    """A re-encoded copy, as far as vPDQ can tell: every frame a few bits off."""
    return [near(h, bits, rng) for h in value]


def pdq(value: str, quality: int | None = 100) -> dict[str, HashValue]:
    return {"pdq": HashValue("pdq", value, quality)}


def vq(value: str) -> dict[str, HashValue]:
    return {"vpdq": HashValue("vpdq", value)}


def add(store: BankStore, bank: str, hash_type: str, values: list[str], **kw: Any) -> None:
    store.apply(bank, [ImportRecord(hash_type, v, **kw) for v in values], source="test.csv")


def results(matcher: Matcher, queries: list[Query]) -> list[list[tuple[object, ...]]]:
    return [
        [(m.bank, m.hash_type, m.value, m.entry_id, m.distance, m.label) for m in ms]
        for ms in matcher.match_many(queries)
    ]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


_bank_names = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 4), st.booleans(), st.integers(0, 2)),
        max_size=8,
    )
)
def test_incremental_sync_equals_full_build(
    store: BankStore,
    tmp_path_factory: pytest.TempPathFactory,
    ops: list[tuple[int, int, bool, int]],
) -> None:
    """Imports, removals and revives, synced at random points and reloaded from disk.

    ``action`` after each change: 0 do nothing, 1 sync in memory, 2 sync and save, then swap
    in a new Matcher that loads the saved indexes (the next process) and catches up. Every
    deleted value may come back later with a new label, which the SQL store implements by
    reviving the same entry id.
    """
    rng = random.Random(len(ops))
    bank = f"p{next(_bank_names)}"  # the store outlives examples; each gets its own bank
    store.create_bank(bank)
    pool = [rand_pdq(rng) for _ in range(12)]
    md5s = [rng.randbytes(16).hex() for _ in range(12)]
    clips = [[rand_pdq(rng) for _ in range(3)] for _ in range(12)]
    index_dir = tmp_path_factory.mktemp("idx")
    live = Matcher(store, [bank], index_dir=index_dir)
    live.sync()
    for step, (start, count, delete, action) in enumerate(ops):
        chunk, label = slice(start, start + count), f"l{step}"
        records = [ImportRecord("pdq", v, label=label, deleted=delete) for v in pool[chunk]]
        records += [ImportRecord("md5", v, label=label, deleted=delete) for v in md5s[chunk]]
        records += [
            ImportRecord("vpdq", video(c), label=label, deleted=delete) for c in clips[chunk]
        ]
        store.apply(bank, records, source="s")
        if action:
            live.sync(save=action == 2)  # saving costs fsyncs: only when a reload follows
        if action == 2:
            live = Matcher(store, [bank], index_dir=index_dir)
    live.sync()
    queries: list[Query] = [pdq(near(v, 3, rng)) for v in pool]
    queries += [{"md5": HashValue("md5", v)} for v in md5s]
    queries += [vq(video(noisy(c, 4, rng))) for c in clips]
    want = results(Matcher(store, [bank]), queries)
    assert results(live, queries) == want
    reloaded = Matcher(store, [bank], index_dir=index_dir)
    [sync] = reloaded.sync()
    assert sync.how in {"loaded", "current"} or (sync.how == "built" and not ops)
    assert results(reloaded, queries) == want


def test_saved_indexes_reload_and_catch_up(
    store: BankStore, tmp_path: Path, rng: random.Random
) -> None:
    store.create_bank("a")
    values = [rand_pdq(rng) for _ in range(30)]
    clips = [[rand_pdq(rng) for _ in range(4)] for _ in range(3)]
    add(store, "a", "pdq", values[:20])
    add(store, "a", "vpdq", [video(clips[0]), video(clips[1])], label="clip")
    [first] = Matcher(store, index_dir=tmp_path).sync()
    assert (first.how, first.to_version) == ("built", 2)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["_entries", "pdq", "vpdq"]
    add(store, "a", "pdq", values[20:])
    add(store, "a", "vpdq", [video(clips[2])], label="clip")
    store.apply("a", [ImportRecord("pdq", values[0], deleted=True)], source="s")
    store.apply("a", [ImportRecord("vpdq", video(clips[0]), deleted=True)], source="s")

    matcher = Matcher(store, index_dir=tmp_path)
    [result] = matcher.sync()
    assert (result.how, result.from_version, result.to_version) == ("loaded", 2, 6)
    assert (result.added, result.removed) == (11, 2)
    assert matcher.match(pdq(values[0])) == []
    assert [m.value for m in matcher.match(pdq(near(values[25], 8, rng)))] == [values[25]]
    assert matcher.match(vq(video(clips[0]))) == []
    [m] = matcher.match(vq(video(noisy(clips[2], 5, rng))))
    assert (m.hash_type, m.value, m.distance, m.label) == ("vpdq", video(clips[2]), 0, "clip")
    assert matcher.sync()[0].how == "current"
    # The saved state is now at version 6: the next process only loads it, and does not
    # write it back (each index directory is replaced whole when it is written).
    saved = {p.name: p.stat().st_ino for p in (tmp_path / "a").iterdir()}
    again = Matcher(store, index_dir=tmp_path)
    [res] = again.sync()
    assert (res.how, res.from_version, res.added, res.removed) == ("loaded", 6, 0, 0)
    assert {p.name: p.stat().st_ino for p in (tmp_path / "a").iterdir()} == saved
    # Changes synced without saving are saved by the next sync that may save.
    add(store, "a", "md5", [rng.randbytes(16).hex()])
    again.sync(save=False)
    assert again.sync()[0].how == "current"
    assert (tmp_path / "a" / "md5").is_dir()


def test_recreated_bank_is_rebuilt_not_stale(
    store: BankStore, tmp_path: Path, rng: random.Random
) -> None:
    old, new = rand_pdq(rng), rand_pdq(rng)
    old_clip = [rand_pdq(rng) for _ in range(3)]
    store.create_bank("a")
    add(store, "a", "pdq", [old])
    add(store, "a", "vpdq", [video(old_clip)])
    matcher = Matcher(store, index_dir=tmp_path)
    matcher.sync()
    assert len(matcher.match(pdq(old))) == 1
    store.delete_bank("a")
    store.create_bank("a")
    add(store, "a", "pdq", [new])
    add(store, "a", "md5", [rng.randbytes(16).hex()])  # same version (2) as before
    # In this process: the held state belongs to the old bank.
    [res] = matcher.sync()
    assert res.how == "built" and res.to_version == 2
    assert matcher.match(pdq(old)) == [] and matcher.match(vq(video(old_clip))) == []
    assert [m.value for m in matcher.match(pdq(new))] == [new]
    # In a new process, with only what was saved for an older bank of that name on disk.
    other = tmp_path / "other"
    store.delete_bank("a")
    store.create_bank("a")
    add(store, "a", "pdq", [old])
    Matcher(store, index_dir=other).sync()
    store.delete_bank("a")
    store.create_bank("a")
    add(store, "a", "pdq", [new])
    fresh = Matcher(store, index_dir=other)
    [res] = fresh.sync()
    assert res.how == "built" and "recreated" in res.note
    assert fresh.match(pdq(old)) == [] and len(fresh.match(pdq(new))) == 1


def test_allow_list_suppresses(store: BankStore, rng: random.Random) -> None:
    entry, md5 = rand_pdq(rng), rng.randbytes(16).hex()
    clip, reviewed = [rand_pdq(rng) for _ in range(5)], [rand_pdq(rng) for _ in range(5)]
    store.create_bank("a")
    store.create_bank("b", pdq_radius=10)
    add(store, "a", "pdq", [entry])
    add(store, "a", "md5", [md5])
    add(store, "a", "vpdq", [video(clip), video(reviewed)])
    add(store, "b", "pdq", [entry])
    add(store, "b", "vpdq", [video(clip)])
    benign = near(entry, 12, rng)
    store.add_allowed("a", "pdq", [near(benign, 8, rng)], "reviewed: benign")
    store.add_allowed("a", "md5", [md5.upper()], "reviewed: benign")
    store.add_allowed("a", "vpdq", [video(clip)], "reviewed: benign")
    store.add_allowed("a", "vpdq", [video(noisy(reviewed, 6, rng))], "reviewed: benign")
    store.add_allowed("a", "vpdq", ["not a vpdq hash"], "a bad value must not stop matching")
    store.add_allowed("a", "pdq", ["not a pdq hash"], "a bad value must not stop matching")
    matcher = Matcher(store)

    report = matcher.explain({**pdq(benign), "md5": HashValue("md5", md5)})
    assert report.matches == []  # b's radius 10 < 12
    assert sorted((m.bank, m.hash_type) for m in report.suppressed) == [("a", "md5"), ("a", "pdq")]
    assert [m.bank for m in matcher.match(pdq(entry))] == ["b"]  # b has no allow-list
    # vPDQ: equal to an allowed value, or a near copy of one, is suppressed in bank a only.
    equal = matcher.explain(vq(video(clip)))
    assert [(m.bank, m.distance) for m in equal.matches] == [("b", 0)]
    assert [(m.bank, m.value) for m in equal.suppressed] == [("a", video(clip))]
    copy = matcher.explain(vq(video(noisy(reviewed, 5, rng))))
    assert copy.matches == [] and [m.value for m in copy.suppressed] == [video(reviewed)]

    allowed = [a for a in store.allowed("a") if a.hash_type in ("pdq", "vpdq")]
    for a in allowed:
        store.remove_allowed("a", a.hash_type, [a.value])
    assert matcher.explain(vq(video(clip))).suppressed  # not yet synced
    matcher.sync()
    assert [m.bank for m in matcher.match(pdq(entry))] == ["a", "b"]
    assert [m.bank for m in matcher.match(vq(video(clip)))] == ["a", "b"]


def test_per_bank_radius_and_quality_floor(store: BankStore, rng: random.Random) -> None:
    entry = rand_pdq(rng)
    clip = [rand_pdq(rng) for _ in range(4)]
    store.create_bank("loose")
    store.create_bank("strict", pdq_radius=10, pdq_quality_floor=80)
    for bank in ("loose", "strict"):
        add(store, bank, "pdq", [entry])
        add(store, bank, "vpdq", [video(clip)])
    matcher = Matcher(store)
    assert [m.bank for m in matcher.match(pdq(near(entry, 10, rng)))] == ["loose", "strict"]
    assert [m.bank for m in matcher.match(pdq(near(entry, 11, rng)))] == ["loose"]
    report = matcher.explain(pdq(entry, quality=70))
    assert [m.bank for m in report.matches] == ["loose"]
    assert [(s.bank, s.code) for s in report.skipped] == [("strict", "low_quality")]
    # vPDQ keeps threatexchange's thresholds in every bank: frame radius 31, floor 50.
    copy = noisy(clip, 25, rng)
    assert [m.bank for m in matcher.match(vq(video(copy)))] == ["loose", "strict"]
    dark = matcher.explain(vq(video(clip, quality=40)))
    assert dark.matches == [] and dark.skipped_low_quality
    assert {s.bank for s in dark.skipped} == {"loose", "strict"}


def test_multiple_banks_and_every_hash_type(store: BankStore, rng: random.Random) -> None:
    entry, digest = rand_pdq(rng), rng.randbytes(16).hex()
    clip = [rand_pdq(rng) for _ in range(10)]
    store.create_bank("a")
    store.create_bank("b")
    add(store, "a", "pdq", [entry], label="known")
    add(store, "b", "pdq", [entry, rand_pdq(rng)])
    add(store, "a", "video_md5", [digest], label="same file")
    add(store, "b", "vpdq", [video(clip), video(clip[:2])], label="clip")

    both = Matcher(store)
    both.sync()
    assert both.banks == ["a", "b"]
    assert [(m.bank, m.label) for m in both.match(pdq(entry))] == [("a", "known"), ("b", None)]
    [vm] = both.match({"video_md5": HashValue("video_md5", digest.upper())})
    assert (vm.bank, vm.hash_type, vm.value, vm.distance, vm.label) == (
        "a", "video_md5", digest, 0, "same file"
    )  # fmt: skip
    # An excerpt (8 of 10 seconds, re-encoded) matches the whole clip at the hasher's
    # distance; the 2-second clip covers only 2 of the query's 8 frames, under 80 %.
    query = video(noisy(clip[:8], 6, rng))
    [m] = both.match(vq(query))
    assert (m.bank, m.value, m.label) == ("b", video(clip), "clip")
    assert m.distance == VPDQHasher().distance(query, video(clip)) == 20
    assert both.hash_types() == {"pdq", "video_md5", "vpdq"}
    only_a = Matcher(store, ["a"])
    assert only_a.hash_types() == {"pdq", "video_md5"}  # what `childsafe match` computes
    assert [m.bank for m in only_a.match(pdq(entry))] == ["a"]
    assert only_a.match(vq(query)) == []


def test_bad_vpdq_in_a_batch_is_a_result(store: BankStore, rng: random.Random) -> None:
    clip = [rand_pdq(rng) for _ in range(3)]
    store.create_bank("a")
    add(store, "a", "vpdq", [video(clip)])
    reports = Matcher(store).explain_many([vq("[1, 2]"), vq(video(clip)), {}])
    assert [s.code for s in reports[0].skipped] == ["bad_hash"] and reports[0].matches == []
    assert [m.distance for m in reports[1].matches] == [0]
    assert reports[2] == MatchReport()
