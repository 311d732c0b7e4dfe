"""Policy providers: a fixed document, or a tenant's active stored version (cached)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from childsafe.config import Settings
from childsafe.errors import PolicyError
from childsafe.policy.document import DEFAULT_POLICY
from childsafe.screening.base import ContentKind, PolicyStore, ScreenRequest, StoredPolicy
from childsafe.screening.policies import StorePolicies, static_policy
from childsafe.screening.screener import Screener


class FakePolicyStore(PolicyStore):
    """Versions only grow; ``calls`` counts ``active`` lookups."""

    def __init__(self) -> None:
        self.versions: dict[str, list[StoredPolicy]] = {}
        self.active_version: dict[str, int] = {}
        self.calls = 0

    def put(self, tenant: str, name: str, document: dict[str, Any], activate: bool = True) -> int:
        versions = self.versions.setdefault(tenant, [])
        n = len(versions) + 1
        versions.append(StoredPolicy(tenant, name, n, document, datetime.now(UTC)))
        if activate:
            self.active_version[tenant] = n
        return n

    def active(self, tenant: str) -> StoredPolicy | None:
        self.calls += 1
        n = self.active_version.get(tenant)
        return None if n is None else self.versions[tenant][n - 1]

    def history(self, tenant: str) -> Sequence[StoredPolicy]:
        return list(reversed(self.versions.get(tenant, [])))

    def activate(self, tenant: str, version: int) -> None:
        self.active_version[tenant] = version


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def doc(version_note: str) -> dict[str, Any]:
    data = DEFAULT_POLICY.to_dict()
    data["description"] = version_note
    return data


def test_static_policy_serves_everyone() -> None:
    provide = static_policy()
    assert provide("a") is provide("b") is DEFAULT_POLICY


def test_store_policies_cache_and_follow_activation() -> None:
    store, clock = FakePolicyStore(), Clock()
    policies = StorePolicies(store, ttl_s=5.0, clock=clock)
    assert policies("t") is DEFAULT_POLICY  # nothing stored yet
    store.put("t", "acme", doc("first"))
    assert policies("t") is DEFAULT_POLICY  # cached for ttl_s
    clock.now = 5.0
    first = policies("t")
    assert (first.name, first.version, first.description) == ("acme", "1", "first")
    store.put("t", "acme", doc("second"))
    policies.invalidate("t")
    assert policies("t").version == "2"
    store.activate("t", 1)
    clock.now = 10.0
    assert policies("t") is first  # parsed once per version
    calls = store.calls
    for _ in range(10):
        policies("t")
    assert store.calls == calls


def test_an_invalid_stored_policy_is_a_clear_error() -> None:
    store = FakePolicyStore()
    store.put("t", "broken", {"rules": {"prompt": {"classifiers": ["nope"]}}})
    with pytest.raises(PolicyError, match=r"policy 'broken' v1 of tenant 't'.*'nope'"):
        StorePolicies(store)("t")


def test_screener_takes_a_policy_store(settings: Settings) -> None:
    store = FakePolicyStore()
    store.put("acme", "acme-policy", doc("stored"))
    screener = Screener(policies_for=store, settings=settings)
    verdict = screener.screen(ScreenRequest(ContentKind.PROMPT, "acme", text="a poem about rain"))
    assert (verdict.policy.name, verdict.policy.version) == ("acme-policy", "1")
    other = screener.screen(ScreenRequest(ContentKind.PROMPT, "zed", text="a poem about rain"))
    assert (other.policy.name, other.policy.version) == ("default", "1")
