"""Banks belong to tenants: a tenant's view sees, matches and changes only its own banks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from childsafe.banks.base import ImportRecord
from childsafe.config import Settings
from childsafe.errors import BankError, BankNotFound
from childsafe.matching.matcher import Matcher
from childsafe.storage import SqlAccessStore, SqlBankStore, open_store
from childsafe.storage.errors import InvalidValue
from childsafe.tenancy.base import Scope

R = random.Random(5)


def hexes(n: int, bits: int) -> list[str]:
    return [f"{R.getrandbits(bits):0{bits // 4}x}" for _ in range(n)]


def add(hash_type: str, vals: list[str], label: str | None = None) -> list[ImportRecord]:
    return [ImportRecord(hash_type, v, label=label) for v in vals]


def live(store: SqlBankStore, bank: str) -> set[str]:
    return {e.value for e in store.iter_entries(bank)}


def test_same_bank_name_in_two_tenants_is_two_banks(store: SqlBankStore) -> None:
    a, b = store.for_tenant("acme"), store.for_tenant("globex")
    va, vb = hexes(3, 128), hexes(2, 128)
    assert a.create_bank("known", pdq_radius=10).tenant == "acme"
    assert b.create_bank("known", description="b").tenant == "globex"
    assert a.apply("known", add("md5", va), source="a.txt").added == 3
    assert b.apply("known", add("md5", vb), source="b.txt").added == 2
    assert live(a, "known") == set(va)
    assert live(b, "known") == set(vb)
    ga, gb = a.get_bank("known"), b.get_bank("known")
    assert (ga.pdq_radius, ga.entry_count, gb.description, gb.entry_count) == (10, 3, "b", 2)
    assert [x.name for x in a.list_banks()] == ["known"]
    assert store.list_banks() == []  # the default tenant has none
    with pytest.raises(BankError, match="already exists"):
        a.create_bank("known")
    # globex changing its "known" (with acme's hashes, even) leaves acme's untouched.
    r = b.apply("known", [ImportRecord("md5", va[0], deleted=True)], source="s")
    assert (r.removed, r.duplicates) == (0, 1)
    b.add_allowed("known", "md5", [va[1]], "x")
    assert a.allowed("known") == [] and live(a, "known") == set(va)
    assert a.get_bank("known").version == 1
    a_ids = {e.entry_id for e in a.iter_entries("known")}
    assert a_ids.isdisjoint(e.entry_id for e in b.iter_entries("known"))
    assert {e.entry_id for e in a.changes_since("known", 0).added} == a_ids


def test_a_tenant_cannot_read_change_or_delete_another_tenants_bank(
    store: SqlBankStore,
) -> None:
    a, b = store.for_tenant("acme"), store.for_tenant("globex")
    a.create_bank("private")
    va = hexes(4, 128)
    a.apply("private", add("md5", va), source="s")
    a.add_allowed("private", "md5", [va[0]], "benign logo")
    attempts = [
        lambda: b.get_bank("private"),
        lambda: b.delete_bank("private"),
        lambda: b.apply("private", add("md5", hexes(1, 128)), source="s"),
        lambda: b.apply("private", [ImportRecord("md5", va[1], deleted=True)], source="s"),
        lambda: list(b.iter_entries("private")),
        lambda: b.changes_since("private", 0),
        lambda: b.add_allowed("private", "md5", [va[2]], "x"),
        lambda: b.remove_allowed("private", "md5", [va[0]]),
        lambda: b.allowed("private"),
    ]
    for attempt in attempts:
        with pytest.raises(BankNotFound):
            attempt()
    # The default tenant (the CLI's view) is just another tenant here.
    with pytest.raises(BankNotFound):
        store.get_bank("private")
    bank = a.get_bank("private")
    assert (bank.version, bank.entry_count) == (1, 4)
    assert [x.value for x in a.allowed("private")] == [va[0]]
    # globex making its own "private" and deleting it leaves acme's alone.
    b.create_bank("private")
    b.delete_bank("private")
    assert live(a, "private") == set(va)


def test_the_store_itself_is_the_default_tenant(store: SqlBankStore) -> None:
    assert store.tenant == "default"
    store.create_bank("cli-bank")
    view = store.for_tenant("default")
    assert [x.name for x in view.list_banks()] == ["cli-bank"]
    assert store.get_bank("cli-bank").tenant == "default"
    assert store.for_tenant("acme").list_banks() == []


def test_open_store_takes_the_tenant_and_secret_from_settings(
    store: SqlBankStore, store_location: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, schema = store_location
    opened = open_store(
        url, schema=schema, settings=Settings(default_tenant="acme", secret_key="k1")
    )
    try:
        assert opened.tenant == "acme"
        opened.create_bank("mine")
        assert [b.name for b in store.for_tenant("acme").list_banks()] == ["mine"]
        assert store.list_banks() == []
        _, token = opened.access.create_key("default", frozenset({Scope.SCREEN}))
        assert SqlAccessStore(store.engine, "k1").verify(token) is not None
        assert store.access.verify(token) is None  # the fixture's store has the default secret
    finally:
        opened.close()
    monkeypatch.setenv("CHILDSAFE_DEFAULT_TENANT", "globex")
    from_env = open_store(url, schema=schema)
    try:
        assert from_env.tenant == "globex"
    finally:
        from_env.close()
    assert store.for_tenant("acme").list_banks() != []  # closing those closed nothing here


@pytest.mark.parametrize("bad", ["", "Acme", "a b", "../x", "-x", "x" * 65, "tenant/1"])
def test_bad_tenant_names_are_refused(store: SqlBankStore, bad: str) -> None:
    with pytest.raises(InvalidValue, match="bad tenant name"):
        store.for_tenant(bad)


def test_closing_a_view_keeps_the_store_open(store: SqlBankStore) -> None:
    view = store.for_tenant("acme")
    view.create_bank("x")
    view.close()
    assert [x.name for x in store.for_tenant("acme").list_banks()] == ["x"]


def _two_tenants(store: SqlBankStore) -> tuple[SqlBankStore, SqlBankStore, str, str]:
    """acme and globex each with a bank "known" holding one md5 and one PDQ of its own."""
    a, b = store.for_tenant("acme"), store.for_tenant("globex")
    (ma, mb), (pa, pb) = hexes(2, 128), hexes(2, 256)
    for view, md5, pdq in ((a, ma, pa), (b, mb, pb)):
        view.create_bank("known")
        view.apply("known", [*add("md5", [md5]), *add("pdq", [pdq])], source="s")
    return a, b, ma, mb


def _matched(matcher: Matcher, md5: str) -> list[str]:
    return [m.value for m in matcher.match_hash("md5", md5)]


def test_matchers_of_two_tenants_match_only_their_own_entries(
    store: SqlBankStore, tmp_path: Path
) -> None:
    a, b, ma, mb = _two_tenants(store)
    root = tmp_path / "indexes"
    assert a.index_dir(root) != b.index_dir(root)
    assert store.index_dir(root) == root  # where indexes were saved before tenants
    ka, kb = Matcher(a, index_dir=a.index_dir(root)), Matcher(b, index_dir=b.index_dir(root))
    assert [r.how for r in ka.sync()] == ["built"]
    assert [r.how for r in kb.sync()] == ["built"]
    assert (_matched(ka, ma), _matched(ka, mb)) == ([ma], [])
    assert (_matched(kb, mb), _matched(kb, ma)) == ([mb], [])
    # A later process loads each tenant's saved indexes: separate, and still separate.
    ka2, kb2 = Matcher(a, index_dir=a.index_dir(root)), Matcher(b, index_dir=b.index_dir(root))
    assert [r.how for r in ka2.sync()] == ["loaded"]
    assert [r.how for r in kb2.sync()] == ["loaded"]
    assert (_matched(ka2, ma), _matched(ka2, mb)) == ([ma], [])
    assert (_matched(kb2, mb), _matched(kb2, ma)) == ([mb], [])


def test_a_shared_index_root_rebuilds_but_never_matches_the_wrong_tenant(
    store: SqlBankStore, tmp_path: Path
) -> None:
    a, b, ma, mb = _two_tenants(store)
    shared = tmp_path / "shared"
    Matcher(a, index_dir=shared).sync()
    kb = Matcher(b, index_dir=shared)
    (res,) = kb.sync()
    assert res.how == "built"  # acme's saved "known" is another bank: not loaded
    assert (_matched(kb, mb), _matched(kb, ma)) == ([mb], [])
