"""Tables of the audit log (hash-chained) and evidence store; migration 0004 defines the same."""

from __future__ import annotations

from childsafe.storage.models import metadata

__all__ = ["metadata"]
