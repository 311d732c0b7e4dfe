"""AES-256-GCM for evidence blobs, with key ids so keys can rotate.

Decisions:

* **AES-256-GCM** (``cryptography``'s AEAD): confidentiality and integrity in one primitive.
  A changed byte, a truncated blob or a wrong key all fail authentication the same way, so
  the store can say "tampered or wrong key" and never return altered content.
* **A fresh random 96-bit nonce per blob.** A blob is encrypted once and never updated, so
  random nonces are far below GCM's 2^32-messages-per-key bound for any real store.
* **Associated data = evidence id + tenant.** The ciphertext of one row copied into another
  row (or another tenant) fails to decrypt: nobody can make one item's bytes appear as
  another's by swapping database values.
* **Key ids, several keys.** Each blob records the id of the key that sealed it; an
  :class:`EvidenceCipher` holds ``keys: dict[key id, 32-byte key]`` and a ``current`` one that
  seals new blobs. Rotating means adding a key and making it current; old blobs still open
  until they are re-sealed or expire. The id is an HMAC of the key, never the key.
* **Where the key comes from.** ``Settings.evidence_key`` (32+ characters) is stretched with
  HKDF-SHA-256 to 32 bytes. When it is unset the key is derived from ``secret_key`` (with a
  different HKDF label, so the two never coincide): convenient for development, but then
  one secret guards both API keys and evidence, so **production must set
  CHILDSAFE_EVIDENCE_KEY** and :meth:`EvidenceCipher.from_settings` refuses otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from childsafe.config import Settings
from childsafe.errors import ConfigError, EvidenceError

NONCE_BYTES = 12
KEY_BYTES = 32
MIN_KEY_CHARS = 32
_SALT = b"childsafe-evidence-v1"


def derive_key(secret: str, *, label: str = "evidence_key") -> bytes:
    """32 bytes from a configured secret (HKDF-SHA-256; ``label`` separates uses)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_SALT, info=label.encode())
    return hkdf.derive(secret.encode("utf-8"))


def key_id(key: bytes) -> str:
    """A short public name of ``key`` (16 hex characters of an HMAC; reveals nothing)."""
    return hmac.new(key, b"childsafe evidence key id", hashlib.sha256).hexdigest()[:16]


def associated_data(evidence_id: str, tenant: str) -> bytes:
    """What binds a blob to its row: the evidence id and tenant, unambiguously joined."""
    return f"{len(evidence_id)}:{evidence_id}|{tenant}".encode()


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted blob and what is needed to open it (stored beside it)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes  # includes GCM's 16-byte tag


@dataclass(frozen=True, slots=True)
class EvidenceCipher:
    """Seals with ``keys[current]``; opens with whichever key a blob names."""

    keys: Mapping[str, bytes] = field(repr=False)
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ConfigError(f"evidence key {self.current!r} is not among the keys given")
        for kid, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise ConfigError(f"evidence key {kid!r} must be {KEY_BYTES} bytes")

    @classmethod
    def from_keys(cls, *keys: bytes) -> EvidenceCipher:
        """The first key seals; all of them open (pass old keys after the new one)."""
        if not keys:
            raise ConfigError("an evidence cipher needs at least one key")
        named = {key_id(k): k for k in keys}
        return cls(named, key_id(keys[0]))

    @classmethod
    def from_settings(cls, settings: Settings, *previous: str) -> EvidenceCipher:
        """The cipher of ``settings``; ``previous`` secrets still open older blobs."""
        secret = settings.evidence_key
        if secret is None:
            if settings.env == "production":
                raise ConfigError(
                    "CHILDSAFE_EVIDENCE_KEY must be set in production (32+ characters)"
                )
            current = derive_key(settings.secret_key, label="evidence_from_secret_key")
        else:
            if len(secret) < MIN_KEY_CHARS:
                raise ConfigError(
                    f"CHILDSAFE_EVIDENCE_KEY must be at least {MIN_KEY_CHARS} characters"
                )
            current = derive_key(secret)
        return cls.from_keys(current, *(derive_key(p) for p in previous))

    def seal(self, data: bytes, *, evidence_id: str, tenant: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        aad = associated_data(evidence_id, tenant)
        ciphertext = AESGCM(self.keys[self.current]).encrypt(nonce, data, aad)
        return Sealed(self.current, nonce, ciphertext)

    def open(self, sealed: Sealed, *, evidence_id: str, tenant: str) -> bytes:
        """The plaintext; ``EvidenceError`` naming the id if the key is unknown or the
        blob fails authentication (changed, moved from another row, or a wrong key)."""
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise EvidenceError(
                f"evidence {evidence_id}: sealed with key {sealed.key_id}, which is not "
                "configured (was CHILDSAFE_EVIDENCE_KEY changed without keeping the old one?)"
            )
        if len(sealed.nonce) != NONCE_BYTES:
            raise EvidenceError(f"evidence {evidence_id}: bad nonce (tampered)")
        try:
            return AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, associated_data(evidence_id, tenant)
            )
        except InvalidTag:
            raise EvidenceError(
                f"evidence {evidence_id}: ciphertext fails authentication "
                "(tampered, moved from another record, or the wrong key)"
            ) from None
