"""``SqlEvidenceStore``: encrypted evidence blobs in the database, every access audited.

* **Blobs live in the database** (``evidence.ciphertext``), sealed by
  :class:`~childsafe.evidence.crypto.EvidenceCipher` before they get there: a backup, a
  replica or a stolen disk holds ciphertext only, and one transaction covers the blob, its
  metadata and its audit entry.
* **No change without its entry.** Every put, read, promotion, hold, release and destruction
  appends its audit event with :meth:`SqlAuditLog.append` inside the same transaction, after
  the store's own write. A read is audited *before* the bytes are returned: if the entry
  cannot be written, nobody gets the content. Refused reads (wrong role, destroyed, unknown
  id, failed authentication) are audited too: attempts matter to an auditor.
* **Roles.** ``reviewer``, ``lead`` and ``admin`` may read content (whether a reviewer may
  see *this* case is the review layer's rule); ``auditor`` never reads content, only
  metadata and the audit log. Any other role is refused.
* **Destruction** sets ``ciphertext`` and ``nonce`` to NULL and keeps the row as a tombstone
  (hashes, when, why, who); a trigger refuses DELETE. On SQLite ``secure_delete`` is switched
  on for the destroying connection, so the freed pages are zeroed; PostgreSQL keeps the old
  row version until VACUUM (see docs/evidence-and-audit.md).
* **Purge is race-safe.** Each row is destroyed by a conditional UPDATE (not held, not yet
  destroyed), so a hold placed while a purge runs wins.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from childsafe.audit.base import AuditEvent
from childsafe.config import Settings
from childsafe.errors import EvidenceError
from childsafe.evidence.base import EvidenceRecord, EvidenceStore, Purpose
from childsafe.evidence.crypto import EvidenceCipher, Sealed
from childsafe.storage._common import check_tenant, to_utc, utc
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.errors import StoreError
from childsafe.storage.models_audit import evidence

READ_ROLES = frozenset({"reviewer", "lead", "admin"})
MAX_BYTES = 512 * 1024 * 1024  # PostgreSQL's bytea stops at 1 GiB; keep well below
PURGE_BATCH = 200
SYSTEM_RETENTION = "system:retention"


class _Refused(Exception):
    """A read that fails: ``why`` goes into the audit entry, the message to the caller."""

    def __init__(self, why: str, message: str) -> None:
        super().__init__(message)
        self.why = why


def new_id() -> str:
    """``ev_`` + 26 random URL-safe characters (156 bits: unguessable, safe in URLs)."""
    return "ev_" + secrets.token_urlsafe(20)[:26]


def _record(r: Row[Any]) -> EvidenceRecord:
    return EvidenceRecord(
        id=r.id,
        tenant=r.tenant,
        purpose=Purpose(r.purpose),
        case_id=r.case_id,
        item_ref=r.item_ref,
        content_type=r.content_type,
        size=int(r.size),
        sha256=r.sha256,
        md5=r.md5,
        stored_at=utc(r.stored_at),
        expires_at=utc(r.expires_at),
        legal_hold=bool(r.legal_hold),
        destroyed_at=utc(r.destroyed_at) if r.destroyed_at is not None else None,
        destroyed_reason=r.destroyed_reason,
    )


def _tenant(tenant: str) -> str:
    try:
        return check_tenant(tenant)
    except StoreError as exc:
        raise EvidenceError(str(exc)) from None


def _reason(reason: str, what: str, evidence_id: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise EvidenceError(f"evidence {evidence_id}: a {what} needs a reason")
    return reason.strip()


class SqlEvidenceStore(EvidenceStore):
    """Evidence on SQLite or PostgreSQL; see the module docstring for its guarantees."""

    def __init__(
        self,
        engine: Engine,
        audit: SqlAuditLog,
        settings: Settings,
        *,
        cipher: EvidenceCipher | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self._settings = settings
        self._cipher = cipher
        self.review_days = settings.review_media_retention_days
        self.report_days = settings.evidence_retention_days
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self._sqlite else nullcontext()
        )

    @property
    def cipher(self) -> EvidenceCipher:
        """Built on first use, so listing, holding and destroying work without the key."""
        if self._cipher is None:
            self._cipher = EvidenceCipher.from_settings(self._settings)
        return self._cipher

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction; on SQLite ``BEGIN IMMEDIATE`` (reads then writes safely)."""
        with self._write_lock, self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def _log(
        self, conn: Connection, tenant: str, actor: str, action: str, eid: str, **details: Any
    ) -> None:
        event = AuditEvent(tenant, actor, f"evidence.{action}", "evidence", eid, details)
        self.audit.append(event, conn=conn)

    def _row(self, conn: Connection, tenant: str, evidence_id: str) -> Row[Any]:
        c = evidence.c
        q = select(evidence).where(c.tenant == tenant, c.id == evidence_id)
        row = conn.execute(q).first()
        if row is None:
            raise EvidenceError(f"no evidence {evidence_id!r} in tenant {tenant!r}")
        return row

    # writing ------------------------------------------------------------------------------

    def put(
        self,
        tenant: str,
        data: bytes,
        *,
        purpose: Purpose,
        item_ref: str,
        actor: str,
        case_id: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> EvidenceRecord:
        """Seal and store ``data``; it expires by its purpose's clock (see ``evidence.base``)."""
        tenant = _tenant(tenant)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise EvidenceError(f"evidence for {item_ref!r}: content must be bytes")
        data = bytes(data)
        if len(data) > MAX_BYTES:
            raise EvidenceError(
                f"evidence for {item_ref!r}: {len(data)} bytes is over the {MAX_BYTES} limit"
            )
        try:
            purpose = Purpose(purpose)
        except ValueError:
            raise EvidenceError(f"evidence for {item_ref!r}: unknown purpose {purpose!r}") from None
        if not isinstance(item_ref, str) or not item_ref or "\x00" in item_ref:
            raise EvidenceError("evidence needs an item_ref (the item it is the content of)")
        if not content_type or len(content_type) > 200:
            raise EvidenceError(f"evidence for {item_ref!r}: bad content type {content_type!r}")
        eid = new_id()
        sealed = self.cipher.seal(data, evidence_id=eid, tenant=tenant)
        now = datetime.now(UTC)
        days = self.review_days if purpose is Purpose.REVIEW else self.report_days
        row = {
            "id": eid,
            "tenant": tenant,
            "purpose": purpose.value,
            "case_id": case_id,
            "item_ref": item_ref,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "stored_at": now,
            "promoted_at": now if purpose is Purpose.REPORT else None,
            "expires_at": now + timedelta(days=days),
            "legal_hold": False,
            "key_id": sealed.key_id,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
        }
        with self._transaction() as conn:
            conn.execute(insert(evidence).values(**row))
            details = {"purpose": purpose.value, "size": len(data), "sha256": row["sha256"]}
            self._log(
                conn, tenant, actor, "put", eid, item_ref=item_ref, case_id=case_id, **details
            )
            return _record(self._row(conn, tenant, eid))

    def promote(
        self, tenant: str, evidence_id: str, *, actor: str, now: datetime
    ) -> EvidenceRecord:
        """Now kept for a report: expires ``evidence_retention_days`` after ``now`` (never
        earlier than an earlier promotion had it)."""
        tenant, now = _tenant(tenant), to_utc(now)
        with self._transaction() as conn:
            row = self._row(conn, tenant, evidence_id)
            if row.destroyed_at is not None:
                raise EvidenceError(f"evidence {evidence_id}: destroyed, cannot be promoted")
            expires = now + timedelta(days=self.report_days)
            if row.purpose == Purpose.REPORT.value:
                expires = max(expires, utc(row.expires_at))
            conn.execute(
                update(evidence)
                .where(evidence.c.id == evidence_id)
                .values(purpose=Purpose.REPORT.value, promoted_at=now, expires_at=expires)
            )
            self._log(conn, tenant, actor, "promote", evidence_id, expires_at=expires)
            return _record(self._row(conn, tenant, evidence_id))

    def hold(self, tenant: str, evidence_id: str, *, actor: str, reason: str) -> EvidenceRecord:
        """Put on legal hold: neither destruction nor purge touches it until released."""
        return self._set_hold(tenant, evidence_id, actor=actor, reason=reason, on=True)

    def release(self, tenant: str, evidence_id: str, *, actor: str, reason: str) -> EvidenceRecord:
        """Lift a legal hold; if it has expired meanwhile, the next purge destroys it."""
        return self._set_hold(tenant, evidence_id, actor=actor, reason=reason, on=False)

    def _set_hold(
        self, tenant: str, evidence_id: str, *, actor: str, reason: str, on: bool
    ) -> EvidenceRecord:
        tenant = _tenant(tenant)
        why = _reason(reason, "hold" if on else "release", evidence_id)
        with self._transaction() as conn:
            row = self._row(conn, tenant, evidence_id)
            if row.destroyed_at is not None:
                raise EvidenceError(f"evidence {evidence_id}: destroyed, nothing to hold")
            if not on and not row.legal_hold:
                raise EvidenceError(f"evidence {evidence_id}: not on legal hold")
            conn.execute(
                update(evidence)
                .where(evidence.c.id == evidence_id)
                .values(legal_hold=on, hold_reason=why if on else None)
            )
            self._log(conn, tenant, actor, "hold" if on else "release", evidence_id, reason=why)
            return _record(self._row(conn, tenant, evidence_id))

    def destroy(self, tenant: str, evidence_id: str, *, actor: str, reason: str) -> EvidenceRecord:
        """Destroy now; refused under a legal hold or when already destroyed."""
        tenant = _tenant(tenant)
        why = _reason(reason, "destruction", evidence_id)
        with self._transaction() as conn:
            row = self._row(conn, tenant, evidence_id)
            if row.destroyed_at is not None:
                raise EvidenceError(f"evidence {evidence_id}: already destroyed")
            if row.legal_hold:
                raise EvidenceError(
                    f"evidence {evidence_id}: under legal hold ({row.hold_reason}); "
                    "release the hold first"
                )
            self._wipe(conn, evidence_id, datetime.now(UTC), why, actor)
            self._log(conn, tenant, actor, "destroy", evidence_id, reason=why)
            return _record(self._row(conn, tenant, evidence_id))

    def _wipe(self, conn: Connection, eid: str, now: datetime, why: str, actor: str) -> bool:
        """NULL the blob if it is neither held nor destroyed; whether it was wiped."""
        if self._sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        c = evidence.c
        done = conn.execute(
            update(evidence)
            .where(c.id == eid, c.legal_hold.is_(False), c.destroyed_at.is_(None))
            .values(
                ciphertext=None,
                nonce=None,
                destroyed_at=now,
                destroyed_reason=why,
                destroyed_by=actor,
            )
        )
        return done.rowcount == 1

    def purge_expired(self, now: datetime, *, actor: str = SYSTEM_RETENTION) -> int:
        """Destroy what expired by ``now`` and is not held, in batches; the number destroyed."""
        now, destroyed, last = to_utc(now), 0, ""
        c = evidence.c
        while True:
            q = (
                select(c.id, c.tenant, c.purpose)
                .where(
                    c.expires_at <= now,
                    c.legal_hold.is_(False),
                    c.destroyed_at.is_(None),
                    c.id > last,
                )
                .order_by(c.id)
                .limit(PURGE_BATCH)
            )
            with self.engine.connect() as conn:
                due = conn.execute(q).all()
            if not due:
                return destroyed
            with self._transaction() as conn:
                for eid, tenant, purpose in due:
                    if self._wipe(conn, eid, now, "retention expired", actor):
                        self._log(conn, tenant, actor, "purge", eid, purpose=purpose)
                        destroyed += 1
            last = due[-1][0]

    # reading ------------------------------------------------------------------------------

    def read(self, tenant: str, evidence_id: str, *, actor: str, role: str) -> bytes:
        """Decrypt and return the content, audited in the same transaction (module doc)."""
        tenant = _tenant(tenant)
        if role not in READ_ROLES:
            message = f"role {role!r} may not read evidence content ({evidence_id})"
            self._refuse(tenant, evidence_id, actor, role, "role may not read content")
            raise EvidenceError(message)
        refused: _Refused | None = None
        with self._transaction() as conn:
            c = evidence.c
            row = conn.execute(
                select(evidence).where(c.tenant == tenant, c.id == evidence_id)
            ).first()
            try:
                data = self._open(row, tenant, evidence_id)
            except _Refused as exc:
                refused = exc
            else:
                digest = hashlib.sha256(data).hexdigest()  # checked equal to the row's
                self._log(conn, tenant, actor, "read", evidence_id, role=role, sha256=digest)
        if refused is not None:
            self._refuse(tenant, evidence_id, actor, role, refused.why)
            raise EvidenceError(str(refused))
        return data

    def _open(self, row: Row[Any] | None, tenant: str, eid: str) -> bytes:
        if row is None:
            raise _Refused("no such evidence", f"no evidence {eid!r} in tenant {tenant!r}")
        if row.ciphertext is None or row.destroyed_at is not None:
            when = utc(row.destroyed_at).isoformat() if row.destroyed_at else "?"
            raise _Refused(
                "destroyed", f"evidence {eid}: destroyed {when} ({row.destroyed_reason})"
            )
        sealed = Sealed(row.key_id, bytes(row.nonce or b""), bytes(row.ciphertext))
        try:
            data = self.cipher.open(sealed, evidence_id=eid, tenant=tenant)
        except EvidenceError as exc:
            raise _Refused("failed authentication", str(exc)) from None
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise _Refused("hash mismatch", f"evidence {eid}: content does not match its sha256")
        return data

    def _refuse(self, tenant: str, eid: str, actor: str, role: str, why: str) -> None:
        with self._transaction() as conn:
            self._log(conn, tenant, actor, "read_refused", eid[:400] or "-", role=role, why=why)

    def record(self, tenant: str, evidence_id: str) -> EvidenceRecord:
        """Metadata only (never content); not audited, like any listing."""
        with self.engine.connect() as conn:
            return _record(self._row(conn, _tenant(tenant), evidence_id))

    def list(
        self, tenant: str, *, case_id: int | None = None, include_destroyed: bool = False
    ) -> builtins.list[EvidenceRecord]:
        c = evidence.c
        q = select(evidence).where(c.tenant == _tenant(tenant))
        if case_id is not None:
            q = q.where(c.case_id == case_id)
        if not include_destroyed:
            q = q.where(c.destroyed_at.is_(None))
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q.order_by(c.stored_at, c.id))]
