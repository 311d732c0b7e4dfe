"""Reviewer accounts, passwords and exposure counting for :class:`SqlCaseStore`.

* **Passwords** are hashed with scrypt (``hashlib.scrypt``, n=2^14, r=8, p=1) and a random
  16-byte salt per account, stored as ``scrypt$n$r$p$salt$hash``. The parameters travel with
  the hash so they can be raised later without invalidating old accounts.
* **Constant time.** ``authenticate`` derives a key even for an unknown or disabled user
  (against a dummy hash) and compares with ``hmac.compare_digest``, so timing does not tell
  an attacker which usernames exist.
* **Exposure** is counted from ``reveals`` rows of the UTC day, never from a counter that
  could drift from the facts it summarises.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select

from childsafe.errors import ReviewError
from childsafe.review.base import Exposure, Reviewer, Role
from childsafe.storage._common import utc
from childsafe.storage.models_review import reveals, reviewers

_N, _R, _P = 2**14, 8, 1
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_DUMMY = f"scrypt${_N}${_R}${_P}${'00' * 16}${'00' * 32}"


def check_username(username: object) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise ReviewError(
            f"bad reviewer username {username!r}: want 1-64 characters of letters, digits, "
            "'.', '_', '@' and '-', starting with a letter or digit"
        )
    return username


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ReviewError(f"a password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    try:
        raw = password.encode()
    except UnicodeEncodeError:
        raise ReviewError("a password must be valid Unicode text") from None
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(raw, salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` derives ``stored``; a malformed ``stored`` never matches."""
    try:
        scheme, n, r, p, salt, want = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), want)


def dummy_verify(password: str) -> None:
    """Spend the time of a real check, so an unknown user looks like a wrong password."""
    verify_password(_DUMMY, password)


def to_reviewer(r: Row[Any]) -> Reviewer:
    return Reviewer(
        username=r.username,
        tenant=r.tenant,
        role=Role(r.role),
        display_name=r.display_name,
        daily_reveal_limit=int(r.daily_reveal_limit),
        metadata_only=bool(r.metadata_only),
        created_at=utc(r.created_at),
        disabled_at=utc(r.disabled_at) if r.disabled_at is not None else None,
    )


def load_reviewer(
    conn: Connection, tenant: str, username: str, *, lock: bool = False
) -> Reviewer | None:
    c = reviewers.c
    q = select(reviewers).where(c.tenant == tenant, c.username == username)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    return None if row is None else to_reviewer(row)


def active_reviewer(
    conn: Connection, tenant: str, username: str, *, lock: bool = False
) -> Reviewer:
    """The enabled reviewer ``username``; ``ReviewError`` naming them otherwise."""
    found = load_reviewer(conn, tenant, username, lock=lock)
    if found is None:
        raise ReviewError(f"tenant {tenant!r} has no reviewer {username!r}")
    if found.disabled_at is not None:
        raise ReviewError(f"reviewer {username!r} is disabled")
    return found


def day_bounds(day: str | None, now: datetime | None = None) -> tuple[str, datetime, datetime]:
    """The UTC day ``YYYY-MM-DD`` (today when None) and its [start, end) instants."""
    if day is None:
        day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise ReviewError(f"bad day {day!r}: want YYYY-MM-DD") from None
    return day, start, start + timedelta(days=1)


def count_exposure(conn: Connection, reviewer: Reviewer, day: str | None) -> Exposure:
    day, start, end = day_bounds(day)
    c = reveals.c
    n = conn.execute(
        select(func.count()).where(
            c.tenant == reviewer.tenant, c.reviewer == reviewer.username, c.at >= start, c.at < end
        )
    ).scalar_one()
    return Exposure(reviewer.username, day, int(n), reviewer.daily_reveal_limit)
