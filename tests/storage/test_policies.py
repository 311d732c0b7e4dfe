"""Policies: versions grow per tenant, one is active, and every activation is recorded."""

from __future__ import annotations

import math
import threading

import pytest

from childsafe.storage import SqlBankStore, SqlPolicyStore
from childsafe.storage.errors import InvalidValue, NotFound

DOC = {
    "rules": {"prompt": {"classifiers": ["text_risk"], "on_review": "review"}},
    "message": "This request cannot be completed.",
}


def test_versions_grow_per_tenant_and_the_newest_put_is_active(store: SqlBankStore) -> None:
    p = store.policies
    assert p.active("acme") is None and p.history("acme") == []
    assert p.put("acme", "baseline", DOC) == 1
    assert p.put("acme", "baseline", DOC | {"message": "v2"}) == 2
    assert p.put("globex", "theirs", {"rules": {}}) == 1  # numbering is per tenant
    active = p.active("acme")
    assert active is not None
    assert (active.tenant, active.name, active.version, active.active) == (
        "acme",
        "baseline",
        2,
        True,
    )
    assert active.document == DOC | {"message": "v2"}
    assert [(h.version, h.active) for h in p.history("acme")] == [(2, True), (1, False)]
    assert [h.version for h in p.history("globex")] == [1]


def test_put_without_activate_and_rollback_by_activation(store: SqlBankStore) -> None:
    p = store.policies
    p.put("acme", "baseline", DOC)
    assert p.put("acme", "draft", {"rules": {"image": {}}}, activate=False) == 2
    active = p.active("acme")
    assert active is not None and active.version == 1  # a draft does not go live
    p.activate("acme", 2)
    p.activate("acme", 1)  # a rollback is a new, recorded change
    active = p.active("acme")
    assert active is not None and (active.version, active.name) == (1, "baseline")
    assert [v for v, _ in p.activations("acme")] == [1, 2, 1]
    times = [at for _, at in p.activations("acme")]
    assert times == sorted(times, reverse=True)
    assert sum(h.active for h in p.history("acme")) == 1


def test_activating_a_missing_version_or_another_tenants_fails(store: SqlBankStore) -> None:
    p = store.policies
    p.put("acme", "baseline", DOC)
    with pytest.raises(NotFound, match="no policy version 7"):
        p.activate("acme", 7)
    with pytest.raises(NotFound):
        p.activate("globex", 1)  # acme's version 1 is not globex's
    assert p.activations("globex") == []
    assert p.active("globex") is None


@pytest.mark.parametrize(
    ("name", "document", "message"),
    [
        ("p", ["not", "an", "object"], "JSON object"),
        ("p", {"x": math.nan}, "not JSON"),
        ("p", {"x": object()}, "not JSON"),
        ("", DOC, "needs a name"),
    ],
)
def test_bad_documents_are_refused(
    store: SqlBankStore, name: str, document: object, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        store.policies.put("acme", name, document)  # type: ignore[arg-type]
    assert store.policies.history("acme") == []


def test_concurrent_puts_get_distinct_versions(store: SqlBankStore) -> None:
    errors: list[BaseException] = []
    got: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        mine = SqlPolicyStore(store.engine)
        try:
            for _ in range(5):
                v = mine.put("acme", "p", DOC)
                with lock:
                    got.append(v)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == list(range(1, 21))
    active = store.policies.active("acme")
    assert active is not None and active.version in got
