"""Review errors more specific than :class:`~childsafe.errors.ReviewError`.

``CaseNotFound`` is also a ``LookupError`` so the web layer can answer 404 without knowing
review's error classes, as ``storage.errors.NotFound`` does for tenants and keys. A case of
another tenant is "not found" too: its existence is not the caller's business.
"""

from __future__ import annotations

from childsafe.errors import ReviewError


class CaseNotFound(ReviewError, LookupError):
    """No case, item or appeal of that id in the tenant."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else "not found"
