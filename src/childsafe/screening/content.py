"""Check a ``ScreenRequest`` and turn its content into what screening needs: an ``Item`` for
the classifiers, the hashes to match, and the SHA-256 (and PDQ) the decision log keeps.

Refused outright (``ScreenError``: the caller sent something that is not screenable, the
service answers 4xx): a kind with the wrong field (image bytes on a prompt), empty or
whitespace-only text, no image bytes, malformed ids. Accepted but not fully checkable, and
so decided by the policy's ``on_error`` (fail closed): image bytes that do not decode, and
text over ``Settings.text_max_chars`` — that text is scored on its first ``text_max_chars``
characters, the reasons say ``error:truncated``, and because the rest was never looked at the
outcome is at least ``on_error``'s. We chose that over refusing long text because a guard
must still give an answer for a long generated output; a deployment with long outputs raises
the limit.

Text is hashed as UTF-8 (lone surrogates kept via ``surrogatepass``, so any Python string has a
stable digest); the SHA-256 always covers the *whole* text, so the log identifies exactly
what was submitted even when only a prefix was scored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from childsafe.config import Settings
from childsafe.content.base import Item, detect_kind
from childsafe.errors import ChildsafeError, ContentTooLarge, ScreenError
from childsafe.hashing.api import hash_file
from childsafe.screening.base import ContentKind, ScreenRequest, Subject
from childsafe.types import HashValue

TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_ID_CHARS = 256
IMAGE_FORMATS = "JPEG, PNG, GIF, BMP, TIFF or WebP"


@dataclass(slots=True)
class Prepared:
    """One request's content, ready to match and classify.

    ``errors`` are step names for reasons (``decode``, ``hash:pdq``), ``problems`` the
    matching human-readable messages; ``notes`` are reasons that decide nothing
    (``pdq:low_quality``).
    """

    item: Item
    sha256: str
    pdq: str | None = None
    hashes: dict[str, HashValue] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scored_text: str | None = None

    def fail(self, step: str, problem: str) -> None:
        self.errors.append(step)
        self.problems.append(problem)


def check_tenant(tenant: str) -> None:
    """Tenant names become directory names (saved indexes), so only slugs are accepted."""
    if not isinstance(tenant, str) or not TENANT.match(tenant):
        raise ScreenError(
            f"tenant {str(tenant)[:70]!r}: expected 1-64 lowercase letters, digits, '-' or '_'"
        )


def check_request(request: ScreenRequest, rid: str, settings: Settings) -> ContentKind:
    """The request's kind, once its fields fit it; ``ScreenError`` names what does not."""
    try:
        kind = ContentKind(request.kind)
    except ValueError:
        known = ", ".join(k.value for k in ContentKind)
        raise ScreenError(
            f"request {rid}: unknown kind {str(request.kind)[:40]!r} (known: {known})"
        ) from None
    check_tenant(request.tenant)
    check_subject(rid, request.subject)
    if kind.is_text:
        if request.data is not None:
            raise ScreenError(f"request {rid}: kind {kind} takes 'text', not image bytes")
        if not isinstance(request.text, str):
            raise ScreenError(f"request {rid}: kind {kind} needs 'text' (a string)")
        if not request.text.strip():
            raise ScreenError(f"request {rid}: text is empty")
    else:
        if request.text is not None:
            raise ScreenError(
                f"request {rid}: kind {kind} takes image bytes, not 'text' "
                "(screen a caption as kind 'caption')"
            )
        if not isinstance(request.data, bytes | bytearray | memoryview):
            raise ScreenError(f"request {rid}: kind {kind} needs image bytes in 'data'")
        if not request.data:
            raise ScreenError(f"request {rid}: image is empty (zero bytes)")
        if len(request.data) > settings.max_request_bytes:
            raise ContentTooLarge(
                f"request {rid}: image is {len(request.data)} bytes, over the "
                f"{settings.max_request_bytes}-byte limit"
            )
    return kind


def resolve_request_id(request: ScreenRequest, generated: str) -> str:
    """The caller's request id (checked: it is stored and echoed), or ``generated``."""
    rid = request.request_id
    if rid is None:
        return generated
    if not isinstance(rid, str) or not REQUEST_ID.match(rid):
        raise ScreenError(
            f"request id {str(rid)[:40]!r}: expected 1-128 letters, digits, '.', '_', ':' or '-'"
        )
    return rid


def check_subject(rid: str, subject: Subject) -> None:
    for name in ("user_id", "conversation_id", "sender", "recipient", "content_id"):
        value = getattr(subject, name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ScreenError(f"request {rid}: subject.{name} must be a non-empty string")
        if len(value) > MAX_ID_CHARS:
            raise ScreenError(
                f"request {rid}: subject.{name} is {len(value)} characters (at most "
                f"{MAX_ID_CHARS}); ids are opaque references, not content"
            )


def prepare_text(rid: str, text: str, hashers: list[str], max_chars: int) -> Prepared:
    """Digests of the whole text, and the prefix the classifiers score."""
    raw = text.encode("utf-8", "surrogatepass")
    scored = text[:max_chars]
    prepared = Prepared(
        item=Item(id=rid, text=scored),
        sha256=hashlib.sha256(raw).hexdigest(),
        scored_text=scored,
    )
    for name in hashers:
        prepared.hashes[name] = HashValue(name, hashlib.new(name, raw).hexdigest())
    if len(text) > max_chars:
        prepared.fail(
            "truncated",
            f"request {rid}: text is {len(text)} characters; only the first {max_chars} "
            "were screened (CHILDSAFE_TEXT_MAX_CHARS)",
        )
    return prepared


def prepare_image(rid: str, data: bytes, hashers: list[str], settings: Settings) -> Prepared:
    """SHA-256 and PDQ for the log, the rule's hashes for matching, in one hashing pass."""
    item = Item.from_bytes(bytes(data), id=rid)
    types = list(dict.fromkeys(["sha256", "pdq", *hashers]))
    decodable = detect_kind(item.head(32)) == "image"
    if not decodable:
        types.remove("pdq")
        if "pdq" in hashers:
            hashers = [h for h in hashers if h != "pdq"]
    try:
        found = hash_file(item, types, settings=settings)
    except ChildsafeError as exc:  # a hasher that cannot load: this request is not checked
        prepared = Prepared(item=item, sha256=hashlib.sha256(item.data or b"").hexdigest())
        prepared.fail("hash", f"request {rid}: cannot hash: {exc}")
        return prepared
    sha = found.hashes["sha256"].value if "sha256" in found.hashes else ""
    pdq = found.hashes.get("pdq")
    prepared = Prepared(item=item, sha256=sha, pdq=pdq.value if pdq else None)
    prepared.hashes = {h: found.hashes[h] for h in hashers if h in found.hashes}
    if found.error:
        prepared.fail("read", f"request {rid}: {found.error}")
    if not decodable:
        prepared.fail("decode", f"request {rid}: not an image this service decodes "
                      f"({IMAGE_FORMATS}), judged by its content")  # fmt: skip
    for name, problem in sorted(found.errors.items()):
        prepared.fail(f"hash:{name}", problem)
    return prepared
