"""Where a tenant's policy comes from: one fixed document, or a ``PolicyStore``.

The screener asks for a tenant's policy on every request, so a store-backed provider caches:
the active version is looked up at most every ``ttl_s`` seconds per tenant, and a document is
parsed once per (tenant, version) — activating a new version takes effect within ``ttl_s``
in every worker without a restart. A tenant with no stored policy gets the ``default``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from childsafe.policy.document import DEFAULT_POLICY, PolicyDocument
from childsafe.screening.base import PolicyStore

PolicyProvider = Callable[[str], PolicyDocument]


def static_policy(document: PolicyDocument = DEFAULT_POLICY) -> PolicyProvider:
    """Every tenant gets ``document`` (the guard's usual case: one app, one policy file)."""

    def provide(tenant: str) -> PolicyDocument:
        return document

    return provide


class StorePolicies:
    """A tenant's active stored policy (cached), or ``default`` when it has none."""

    def __init__(
        self,
        store: PolicyStore,
        *,
        default: PolicyDocument = DEFAULT_POLICY,
        ttl_s: float = 5.0,
        allowed_plugins: list[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.default = default
        self.ttl_s = ttl_s
        self.allowed_plugins = allowed_plugins
        self._clock = clock
        self._active: dict[str, tuple[float, PolicyDocument]] = {}
        self._parsed: dict[tuple[str, int], PolicyDocument] = {}
        self._lock = threading.Lock()

    def __call__(self, tenant: str) -> PolicyDocument:
        now = self._clock()
        with self._lock:
            hit = self._active.get(tenant)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        doc = self._load(tenant)
        with self._lock:
            self._active[tenant] = (now, doc)
        return doc

    def invalidate(self, tenant: str | None = None) -> None:
        """Forget the cached active version (after ``put``/``activate`` in this process)."""
        with self._lock:
            if tenant is None:
                self._active.clear()
            else:
                self._active.pop(tenant, None)

    def _load(self, tenant: str) -> PolicyDocument:
        stored = self.store.active(tenant)
        if stored is None:
            return self.default
        key = (tenant, stored.version)
        with self._lock:
            doc = self._parsed.get(key)
        if doc is None:
            doc = PolicyDocument.from_stored(stored, allowed_plugins=self.allowed_plugins)
            with self._lock:
                self._parsed[key] = doc
        return doc
