"""The evidence store: encrypted at rest, role-limited, audited, expiring, held, destroyed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from childsafe.config import Settings
from childsafe.errors import AuditError, ConfigError, EvidenceError
from childsafe.evidence.base import Purpose
from childsafe.evidence.crypto import EvidenceCipher, derive_key, key_id
from childsafe.storage import SqlBankStore
from childsafe.storage import evidence as evidence_module
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.models_audit import evidence

KEY = "k" * 40
# Benign stand-in content: what matters is that bytes go in and the same bytes come out.
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + b"holiday photo of a beach"


@pytest.fixture
def cfg(settings: Settings) -> Settings:
    return settings.model_copy(update={"evidence_key": KEY})


@pytest.fixture
def ev(store: SqlBankStore, cfg: Settings) -> SqlEvidenceStore:
    return SqlEvidenceStore(store.engine, SqlAuditLog(store.engine), cfg)


def put(ev: SqlEvidenceStore, data: bytes = PHOTO, **kw: object) -> str:
    args: dict[str, object] = {"purpose": Purpose.REVIEW, "item_ref": "upload:1", "actor": "a:x"}
    args.update(kw)
    tenant = str(args.pop("tenant", "acme"))
    return ev.put(tenant, data, **args).id  # type: ignore[arg-type]


def raw(ev: SqlEvidenceStore, eid: str) -> tuple[bytes | None, bytes | None]:
    with ev.engine.connect() as conn:
        row = conn.execute(
            select(evidence.c.nonce, evidence.c.ciphertext).where(evidence.c.id == eid)
        ).one()
    return (bytes(row[0]) if row[0] is not None else None), (
        bytes(row[1]) if row[1] is not None else None
    )


def actions(ev: SqlEvidenceStore, eid: str) -> list[str]:
    return [e.action for e in ev.audit.entries(target_type="evidence", target_id=eid)]


def test_round_trip_and_metadata(ev: SqlEvidenceStore) -> None:
    rec = ev.put(
        "acme",
        PHOTO,
        purpose=Purpose.REVIEW,
        item_ref="upload:\u00e9t\u00e9-\U0001f600",
        actor="reviewer:alice",
        case_id=7,
        content_type="image/png",
    )
    assert rec.id.startswith("ev_") and len(rec.id) == 29
    assert (rec.size, rec.case_id, rec.legal_hold, rec.destroyed_at) == (len(PHOTO), 7, False, None)
    assert rec.expires_at - rec.stored_at == timedelta(days=30)
    assert ev.read("acme", rec.id, actor="reviewer:alice", role="reviewer") == PHOTO
    assert ev.record("acme", rec.id) == rec
    assert [r.id for r in ev.list("acme", case_id=7)] == [rec.id]
    report = ev.put("acme", b"", purpose=Purpose.REPORT, item_ref="report:1", actor="lead:bo")
    assert report.expires_at - report.stored_at == timedelta(days=365)
    assert ev.read("acme", report.id, actor="lead:bo", role="lead") == b""


def test_the_database_holds_ciphertext_only(ev: SqlEvidenceStore) -> None:
    a, b = put(ev), put(ev)
    nonce_a, blob_a = raw(ev, a)
    nonce_b, blob_b = raw(ev, b)
    assert blob_a is not None and blob_b is not None and nonce_a is not None
    assert len(nonce_a) == 12 and nonce_a != nonce_b
    assert b"holiday photo" not in blob_a and PHOTO not in blob_a
    assert blob_a != blob_b  # same content, fresh nonce: nothing links the two rows
    assert len(blob_a) == len(PHOTO) + 16  # the GCM tag


def test_a_wrong_key_fails_clearly(ev: SqlEvidenceStore, cfg: Settings) -> None:
    eid = put(ev)
    other = cfg.model_copy(update={"evidence_key": "z" * 40})
    wrong = SqlEvidenceStore(ev.engine, ev.audit, other)
    with pytest.raises(EvidenceError, match=f"{eid}.*not configured"):
        wrong.read("acme", eid, actor="admin:root", role="admin")
    same_id = EvidenceCipher({ev.cipher.current: b"\x01" * 32}, ev.cipher.current)
    forged = SqlEvidenceStore(ev.engine, ev.audit, cfg, cipher=same_id)
    with pytest.raises(EvidenceError, match=f"{eid}.*fails authentication"):
        forged.read("acme", eid, actor="admin:root", role="admin")


def test_keys_rotate_old_blobs_still_open(ev: SqlEvidenceStore, cfg: Settings) -> None:
    old = put(ev)
    rotated = EvidenceCipher.from_settings(cfg.model_copy(update={"evidence_key": "n" * 40}), KEY)
    new_store = SqlEvidenceStore(ev.engine, ev.audit, cfg, cipher=rotated)
    new = put(new_store)
    assert new_store.read("acme", old, actor="admin:r", role="admin") == PHOTO
    assert new_store.read("acme", new, actor="admin:r", role="admin") == PHOTO
    with ev.engine.connect() as conn:
        kids = dict(conn.execute(select(evidence.c.id, evidence.c.key_id)).all())
    assert kids[old] == key_id(derive_key(KEY)) and kids[new] == rotated.current != kids[old]


def test_tampered_ciphertext_is_refused_and_audited(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    _, blob = raw(ev, eid)
    assert blob is not None
    flipped = blob[:10] + bytes([blob[10] ^ 1]) + blob[11:]
    with ev.engine.begin() as conn:
        conn.execute(update(evidence).where(evidence.c.id == eid).values(ciphertext=flipped))
    with pytest.raises(EvidenceError, match=eid):
        ev.read("acme", eid, actor="reviewer:alice", role="reviewer")
    last = ev.audit.entries(target_id=eid)[-1]
    assert last.action == "evidence.read_refused" and last.details["why"] == "failed authentication"


def test_blobs_swapped_between_rows_fail(ev: SqlEvidenceStore) -> None:
    a, b = put(ev, b"first benign file"), put(ev, b"second benign file", tenant="globex")
    (na, ca), (nb, cb) = raw(ev, a), raw(ev, b)
    with ev.engine.begin() as conn:
        conn.execute(update(evidence).where(evidence.c.id == a).values(nonce=nb, ciphertext=cb))
        conn.execute(update(evidence).where(evidence.c.id == b).values(nonce=na, ciphertext=ca))
    with pytest.raises(EvidenceError, match=a):
        ev.read("acme", a, actor="admin:r", role="admin")
    with pytest.raises(EvidenceError, match=b):
        ev.read("globex", b, actor="admin:r", role="admin")


def test_other_tenants_evidence_is_invisible(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    with pytest.raises(EvidenceError, match="no evidence"):
        ev.read("globex", eid, actor="admin:r", role="admin")
    with pytest.raises(EvidenceError, match="no evidence"):
        ev.record("globex", eid)
    assert ev.list("globex") == []


def test_auditors_and_unknown_roles_never_read_content(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    for role in ("auditor", "viewer", ""):
        with pytest.raises(EvidenceError, match="may not read"):
            ev.read("acme", eid, actor="auditor:carol", role=role)
    refused = [e for e in ev.audit.entries(target_id=eid) if e.action == "evidence.read_refused"]
    assert [e.details["role"] for e in refused] == ["auditor", "viewer", ""]
    assert ev.record("acme", eid).sha256  # metadata stays readable


def test_every_access_is_audited_in_order(ev: SqlEvidenceStore) -> None:
    eid = put(ev, actor="system:intake")
    ev.read("acme", eid, actor="reviewer:alice", role="reviewer")
    ev.hold("acme", eid, actor="lead:bo", reason="preservation request 17")
    ev.release("acme", eid, actor="lead:bo", reason="request withdrawn")
    ev.promote("acme", eid, actor="lead:bo", now=ev.record("acme", eid).stored_at)
    ev.destroy("acme", eid, actor="admin:root", reason="law enforcement asked")
    assert actions(ev, eid) == [
        "evidence.put",
        "evidence.read",
        "evidence.hold",
        "evidence.release",
        "evidence.promote",
        "evidence.destroy",
    ]
    entries = ev.audit.entries(target_id=eid)
    assert entries[1].actor == "reviewer:alice" and entries[1].tenant == "acme"
    assert all("holiday" not in str(e.details) for e in entries)  # never content
    assert ev.audit.verify().ok


def test_retention_purges_what_expired(ev: SqlEvidenceStore) -> None:
    review, kept = put(ev), put(ev, purpose=Purpose.REPORT)
    stored = ev.record("acme", review).stored_at
    assert ev.purge_expired(stored + timedelta(days=29)) == 0
    assert ev.purge_expired(stored + timedelta(days=31)) == 1
    tomb = ev.record("acme", review)
    assert tomb.destroyed_at == stored + timedelta(days=31)
    assert tomb.destroyed_reason == "retention expired" and tomb.sha256
    assert raw(ev, review) == (None, None)
    with pytest.raises(EvidenceError, match=f"{review}: destroyed"):
        ev.read("acme", review, actor="admin:r", role="admin")
    assert [r.id for r in ev.list("acme")] == [kept]
    assert {r.id for r in ev.list("acme", include_destroyed=True)} == {review, kept}
    assert actions(ev, review)[-2:] == ["evidence.purge", "evidence.read_refused"]
    assert ev.audit.entries(target_id=review)[-2].actor == "system:retention"
    assert ev.purge_expired(stored + timedelta(days=366)) == 1  # the report, a year on


def test_promotion_restarts_the_clock(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    stored = ev.record("acme", eid).stored_at
    reported = stored + timedelta(days=20)
    rec = ev.promote("acme", eid, actor="lead:bo", now=reported)
    assert rec.purpose is Purpose.REPORT and rec.expires_at == reported + timedelta(days=365)
    assert ev.purge_expired(stored + timedelta(days=100)) == 0
    earlier = ev.promote("acme", eid, actor="lead:bo", now=stored)
    assert earlier.expires_at == rec.expires_at  # a promotion never shortens retention
    ev.destroy("acme", eid, actor="admin:r", reason="no violation")
    with pytest.raises(EvidenceError, match="destroyed"):
        ev.promote("acme", eid, actor="lead:bo", now=reported)


def test_legal_hold_blocks_destroy_and_purge(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    stored = ev.record("acme", eid).stored_at
    assert ev.hold("acme", eid, actor="lead:bo", reason="court order 12").legal_hold
    with pytest.raises(EvidenceError, match="legal hold"):
        ev.destroy("acme", eid, actor="admin:r", reason="asked")
    assert ev.purge_expired(stored + timedelta(days=3650)) == 0
    assert ev.read("acme", eid, actor="admin:r", role="admin") == PHOTO
    ev.release("acme", eid, actor="lead:bo", reason="order lifted")
    with pytest.raises(EvidenceError, match="not on legal hold"):
        ev.release("acme", eid, actor="lead:bo", reason="again")
    assert ev.purge_expired(stored + timedelta(days=3650)) == 1
    with pytest.raises(EvidenceError, match="nothing to hold"):
        ev.hold("acme", eid, actor="lead:bo", reason="too late")


def test_destroy_keeps_a_tombstone(ev: SqlEvidenceStore) -> None:
    eid = put(ev)
    with pytest.raises(EvidenceError, match="reason"):
        ev.destroy("acme", eid, actor="admin:r", reason="  ")
    tomb = ev.destroy("acme", eid, actor="admin:r", reason="no violation found")
    assert tomb.destroyed_reason == "no violation found" and tomb.size == len(PHOTO)
    with pytest.raises(EvidenceError, match="already destroyed"):
        ev.destroy("acme", eid, actor="admin:r", reason="again")
    with pytest.raises(DBAPIError), ev.engine.begin() as conn:
        conn.execute(delete(evidence).where(evidence.c.id == eid))
    assert ev.record("acme", eid).destroyed_at is not None


def test_bad_input_is_refused_and_nothing_is_stored(
    ev: SqlEvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EvidenceError, match="tenant"):
        put(ev, tenant="Bad Tenant")
    with pytest.raises(EvidenceError, match="bytes"):
        put(ev, "not bytes")  # type: ignore[arg-type]
    with pytest.raises(EvidenceError, match="item_ref"):
        put(ev, item_ref="")
    with pytest.raises(EvidenceError, match="purpose"):
        put(ev, purpose="forever")
    too_big = r"upload:1.*over the 1000"
    with monkeypatch.context() as m, pytest.raises(EvidenceError, match=too_big):
        m.setattr(evidence_module, "MAX_BYTES", 1000)
        put(ev, b"x" * 1001)
    with pytest.raises(AuditError):  # the entry cannot be written: no evidence either
        put(ev, actor="")
    assert ev.list("acme", include_destroyed=True) == []
    with pytest.raises(EvidenceError, match="no evidence"):
        ev.destroy("acme", "ev_missing", actor="admin:r", reason="x")


def test_concurrent_puts_and_reads_keep_one_chain(ev: SqlEvidenceStore) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(5):
                data = f"benign file {k}-{i}".encode()
                eid = put(ev, data, item_ref=f"upload:{k}-{i}")
                assert ev.read("acme", eid, actor=f"reviewer:t{k}", role="reviewer") == data
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert len(ev.list("acme")) == 20
    check = ev.audit.verify()
    assert check.ok and check.entries == 40


def test_key_settings_are_checked(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        EvidenceCipher.from_settings(settings.model_copy(update={"evidence_key": "short"}))
    prod = settings.model_copy(update={"env": "production", "evidence_key": None})
    with pytest.raises(ConfigError, match="CHILDSAFE_EVIDENCE_KEY"):
        EvidenceCipher.from_settings(prod)
    dev = EvidenceCipher.from_settings(settings)  # derived from secret_key, labelled apart
    assert dev.keys[dev.current] != derive_key(settings.secret_key)
    with pytest.raises(ConfigError):
        EvidenceCipher({"a": b"short"}, "a")


def test_metadata_work_needs_no_key(store: SqlBankStore, settings: Settings) -> None:
    """Production without CHILDSAFE_EVIDENCE_KEY: holds and destruction still work (a
    deletion request must never wait on key trouble); storing and reading refuse clearly."""
    good = SqlEvidenceStore(store.engine, SqlAuditLog(store.engine), settings)
    eid = put(good)
    prod = settings.model_copy(update={"env": "production", "evidence_key": None})
    keyless = SqlEvidenceStore(store.engine, SqlAuditLog(store.engine), prod)
    assert [r.id for r in keyless.list("acme")] == [eid]
    keyless.hold("acme", eid, actor="lead:bo", reason="r")
    keyless.release("acme", eid, actor="lead:bo", reason="r")
    with pytest.raises(ConfigError, match="CHILDSAFE_EVIDENCE_KEY"):
        put(keyless)
    with pytest.raises(ConfigError, match="CHILDSAFE_EVIDENCE_KEY"):
        keyless.read("acme", eid, actor="admin:r", role="admin")
    assert keyless.destroy("acme", eid, actor="admin:r", reason="asked").destroyed_at
