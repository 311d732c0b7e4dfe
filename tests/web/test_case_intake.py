"""Verdicts that ask for a case open one at once, with the screened image kept for review."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from tests.web.helpers import RISKY, Headers, KeyMaker, photo_png

from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.evidence.base import Purpose
from childsafe.hashing.api import hash_file
from childsafe.review.base import CasePriority, DetectionSource, SubjectKind
from childsafe.storage import SqlBankStore
from childsafe.storage.desk import open_desk
from childsafe.tenancy.base import Scope


def _jpeg(png: bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_banked_upload_opens_a_case_with_encrypted_review_media(
    api: TestClient, admin: Headers, store: SqlBankStore, settings: Settings
) -> None:
    png = photo_png("chelsea")
    pdq = hash_file(Item.from_bytes(png, id="t"), ("pdq",)).hashes["pdq"].value
    api.post("/v1/banks", json={"name": "known"}, headers=admin)
    body = {"entries": [{"hash_type": "pdq", "value": pdq, "label": "benign-test"}]}
    assert api.post("/v1/banks/known/entries", json=body, headers=admin).status_code == 200
    upload = _jpeg(png)
    subject = {"user_id": "user-é-1", "content_id": "upload-1"}
    r = api.post(
        "/v1/screen/image",
        files={"file": ("c.jpg", upload)},
        params=subject,
        headers=admin,
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "block" and verdict["create_case"] is True

    desk = open_desk(store, settings)
    (case,) = desk.cases.list("acme")
    assert case.priority is CasePriority.KNOWN_HASH
    assert DetectionSource.HASH in case.sources
    (item,) = desk.cases.items("acme", case.id)
    assert item.item_ref == verdict["request_id"] and item.hashes["sha256"]
    assert not item.file_viewed and not item.exif_viewed  # a match is not a view
    assert item.evidence_id is not None
    record = desk.evidence.record("acme", item.evidence_id)
    assert record.purpose is Purpose.REVIEW and record.content_type == "image/jpeg"
    assert desk.evidence.read("acme", item.evidence_id, actor="test", role="lead") == upload

    # A retried request (same id, same bytes) keeps one item and one stored copy.
    again = api.post(
        "/v1/screen/image",
        files={"file": ("c.jpg", upload)},
        params=subject,
        headers={**admin, "X-Request-ID": verdict["request_id"]},
    )
    assert again.status_code == 200
    assert len(desk.cases.items("acme", case.id)) == 1
    assert len(desk.evidence.list("acme")) == 1


def test_risky_prompt_and_user_report_open_cases_without_content(
    api: TestClient, keys: KeyMaker, store: SqlBankStore, settings: Settings
) -> None:
    h = keys("acme", Scope.SCREEN)
    r = api.post(
        "/v1/screen/text",
        json={"text": RISKY, "subject": {"user_id": "u-1"}},
        headers=h,
    )
    assert r.json()["create_case"] is True
    report = {"subject": {"user_id": "u-2"}, "reason_code": "grooming", "kind": "message"}
    assert api.post("/v1/reports", json=report, headers=h).status_code == 201

    desk = open_desk(store, settings)
    by_user = {c.subject.id: c for c in desk.cases.list("acme")}
    assert set(by_user) == {"u-1", "u-2"}
    assert all(c.subject.kind is SubjectKind.USER for c in by_user.values())
    assert by_user["u-2"].priority is CasePriority.USER_REPORT
    assert by_user["u-1"].priority <= CasePriority.CLASSIFIER
    (reported,) = desk.cases.items("acme", by_user["u-2"].id)
    assert "sha256" not in reported.hashes  # "none" is not a hash
    assert desk.evidence.list("acme") == []  # text is never kept
