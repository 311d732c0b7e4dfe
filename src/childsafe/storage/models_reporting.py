"""Tables of the hotline reports and their submissions; migration 0006 defines the same."""

from __future__ import annotations

from childsafe.storage.models import metadata

__all__ = ["metadata"]
