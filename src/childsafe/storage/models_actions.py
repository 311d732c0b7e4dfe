"""Tables of the webhook outbox and dead letters; migration 0007 defines the same."""

from __future__ import annotations

from childsafe.storage.models import metadata

__all__ = ["metadata"]
