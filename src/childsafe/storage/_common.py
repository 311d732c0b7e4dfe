"""Small helpers the stores share: UTC timestamps and tenant names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from childsafe.storage.errors import InvalidValue

# A slug: it appears in URLs, index directory names and logs, so nothing that needs quoting.
_TENANT = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def to_utc(dt: datetime) -> datetime:
    """A timestamp to store or compare with: aware, in UTC (naive means UTC already).

    SQLite keeps timestamps as text without a zone, so a bound value in another zone would
    compare wrongly against stored ones.
    """
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def check_tenant(name: object) -> str:
    """``name`` if it is a valid tenant slug; ``InvalidValue`` saying why otherwise."""
    if not isinstance(name, str) or not _TENANT.fullmatch(name):
        raise InvalidValue(
            f"bad tenant name {name!r}: want 1-64 characters of a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return name
