"""Tables of the review workflow (cases, items, decisions, reveals, appeals, reviewers)."""

from __future__ import annotations

from childsafe.storage.models import metadata

__all__ = ["metadata"]
