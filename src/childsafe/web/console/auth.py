"""Console sessions: login form, signed session cookie, CSRF tokens, logout.

Decisions:

* **A signed cookie, checked against the database on every request.** The cookie carries a
  random 128-bit session id, the tenant, the username, an absolute expiry and the session's
  "metadata only" toggle, HMAC-SHA-256-signed with a key derived from
  ``Settings.secret_key`` (its own label, so it never equals the key that hashes API keys).
  Every request then loads the reviewer from the case store, so a disabled account or a
  changed role takes effect at once; the cookie only says *who*, never *what they may do*.
* **Cookie flags.** ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no cross-site
  request carries it), ``Secure`` in production, ``Path`` limited to the console.
* **CSRF: a synchronizer token per session** (HMAC of the session id), a hidden field in
  every POST form, compared in constant time. SameSite=Strict already stops cross-site
  posts in current browsers; the token is the defence that does not depend on the browser.
  The login form, which has no session yet, uses a double-submit token in its own cookie.
* **Logout revokes** the session id in this process (and deletes the cookie), so a copied
  cookie stops working at once here; with several worker processes it stops at its expiry
  (``SESSION_HOURS``), which is why the expiry is short (a shift).
* **Reveal grants** are short-lived signed tokens bound to the session, the item and what was
  revealed; they are minted only after ``CaseStore.reveal`` recorded the reveal, so the
  original never leaves the server without its record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from childsafe.config import Settings
from childsafe.review.base import Reviewer, Role

COOKIE = "childsafe_console"
LOGIN_COOKIE = "childsafe_console_login"
SESSION_HOURS = 8
REVEAL_SECONDS = 300
_KEY_LABEL = b"childsafe console session v1"


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie says (who), not what they may do (that comes from the reviewer)."""

    sid: str
    tenant: str
    username: str
    expires: int  # Unix seconds
    metadata_only: bool = False  # the session's own "review by hash/metadata only" toggle


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in reviewer for one request: the session plus the reviewer as stored."""

    session: Session
    reviewer: Reviewer
    csrf: str

    @property
    def tenant(self) -> str:
        return self.session.tenant

    @property
    def name(self) -> str:
        return self.reviewer.username

    @property
    def role(self) -> Role:
        return self.reviewer.role

    @property
    def actor(self) -> str:
        return f"reviewer:{self.reviewer.username}"

    @property
    def metadata_only(self) -> bool:
        """True when this user must not get media: auditors always, else either setting."""
        return (
            self.role == Role.AUDITOR or self.reviewer.metadata_only or self.session.metadata_only
        )

    def has(self, *roles: Role) -> bool:
        return self.role in roles


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks sessions, CSRF tokens and reveal grants with one derived key."""

    def __init__(self, settings: Settings) -> None:
        self._key = hmac.new(settings.secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.secure = settings.env.strip().lower() == "production"
        self._revoked: dict[str, int] = {}
        self._lock = threading.Lock()

    def _mac(self, *parts: str) -> str:
        msg = "\x1f".join(parts).encode()
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest())

    # sessions ----------------------------------------------------------------------------
    def new_session(self, tenant: str, username: str) -> Session:
        expires = int(time.time()) + SESSION_HOURS * 3600
        return Session(secrets.token_urlsafe(16), tenant, username, expires)

    def dumps(self, s: Session) -> str:
        body = json.dumps(
            {"s": s.sid, "t": s.tenant, "u": s.username, "e": s.expires, "m": s.metadata_only},
            separators=(",", ":"),
        ).encode()
        payload = _b64(body)
        return f"{payload}.{self._mac('session', payload)}"

    def loads(self, cookie: str | None) -> Session | None:
        """The session, or None when missing, forged, expired, revoked or malformed."""
        if not cookie or len(cookie) > 2048 or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            raw: Any = json.loads(_unb64(payload))
            s = Session(str(raw["s"]), str(raw["t"]), str(raw["u"]), int(raw["e"]), bool(raw["m"]))
        except (ValueError, KeyError, TypeError):
            return None
        if s.expires < time.time():
            return None
        with self._lock:
            if s.sid in self._revoked:
                return None
        return s

    def revoke(self, s: Session) -> None:
        now = int(time.time())
        with self._lock:
            self._revoked = {k: v for k, v in self._revoked.items() if v > now}
            self._revoked[s.sid] = s.expires

    def with_metadata_only(self, s: Session, on: bool) -> Session:
        return replace(s, metadata_only=on)

    def set_cookie(self, response: Response, s: Session, path: str) -> None:
        response.set_cookie(
            COOKIE,
            self.dumps(s),
            max_age=max(0, s.expires - int(time.time())),
            path=path,
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    # CSRF --------------------------------------------------------------------------------
    def csrf(self, s: Session) -> str:
        return self._mac("csrf", s.sid)

    def csrf_ok(self, s: Session, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf(s))

    def login_token(self) -> tuple[str, str]:
        """(form token, cookie value) for the login form's double-submit check."""
        nonce = secrets.token_urlsafe(16)
        return nonce, f"{nonce}.{self._mac('login', nonce)}"

    def login_ok(self, token: str, cookie: str | None) -> bool:
        if not token or not cookie or "." not in cookie:
            return False
        nonce, mac = cookie.rsplit(".", 1)
        return hmac.compare_digest(mac, self._mac("login", nonce)) and hmac.compare_digest(
            nonce, token
        )

    # reveal grants -----------------------------------------------------------------------
    def reveal_grant(self, s: Session, item_id: int, what: str) -> str:
        expires = int(time.time()) + REVEAL_SECONDS
        mac = self._mac("reveal", s.sid, str(item_id), what, str(expires))
        return f"{item_id}.{what}.{expires}.{mac}"

    def check_grant(self, s: Session, token: str | None) -> tuple[int, str] | None:
        """(item id, what) of a valid grant for this session, else None."""
        if not token or len(token) > 200:
            return None
        parts = token.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
            return None
        item, what, expires, mac = parts
        if what not in ("file", "exif") or int(expires) < time.time():
            return None
        if not hmac.compare_digest(mac, self._mac("reveal", s.sid, item, what, expires)):
            return None
        return int(item), what


def session_of(request: Request, signer: Signer) -> Session | None:
    return signer.loads(request.cookies.get(COOKIE))
