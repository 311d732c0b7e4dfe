"""Helpers for the console tests: benign test photos, logging in, reading forms and pages."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import skimage.data
from fastapi.testclient import TestClient
from PIL import Image

from childsafe.evidence.base import Purpose
from childsafe.review.base import (
    Case,
    CaseItem,
    CasePriority,
    DetectionSource,
    Finding,
    Role,
    Subject,
    SubjectKind,
)
from childsafe.storage.audit import SqlAuditLog
from childsafe.storage.evidence import SqlEvidenceStore
from childsafe.storage.review import SqlCaseStore

TENANT = "acme"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="token" value="([^"]+)"')


PEOPLE = {
    "alice": (Role.REVIEWER, {}),
    "bob": (Role.REVIEWER, {}),
    "lena": (Role.LEAD, {}),
    "adam": (Role.ADMIN, {}),
    "audrey": (Role.AUDITOR, {}),
    "meta": (Role.REVIEWER, {"metadata_only": True}),
    "limy": (Role.REVIEWER, {"daily_reveal_limit": 1}),
}


class People:
    """Creates the accounts of ``PEOPLE`` on first use (scrypt per account is not free)."""

    def __init__(self, review: Review) -> None:
        self.review = review
        self.made: set[str] = set()

    def __call__(self, *names: str) -> None:
        for name in names:
            if name in self.made:
                continue
            role, extra = PEOPLE[name]
            self.review.cases.add_reviewer(
                TENANT, name, role, PASSWORD, display_name=name.title(), actor="test", **extra
            )
            self.made.add(name)


class ConsoleClient(TestClient):
    """A TestClient with its own cookie jar and the CSRF token of its session."""

    csrf: str = ""


@dataclass
class Review:
    """The real SQL stores the console uses, opened on the test's database."""

    cases: SqlCaseStore
    evidence: SqlEvidenceStore
    audit: SqlAuditLog


@cache
def photo_jpeg(name: str = "astronaut", size: int = 256) -> bytes:
    """A benign scikit-image photo as JPEG with a little EXIF (camera make and model)."""
    img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    img.thumbnail((size, size))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "TestModel 1"  # Model
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def high_frequency(grey: np.ndarray) -> float:
    """Mean absolute Laplacian: detail a blur removes."""
    g = grey.astype(np.float64)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.abs(lap).mean())


def add_image_case(
    review: Review, ref: str, data: bytes | None = None, *, subject: str | None = None
) -> tuple[Case, CaseItem]:
    """A user-report case about one upload, its photo kept in the evidence store."""
    data = photo_jpeg() if data is None else data
    record = review.evidence.put(
        TENANT, data, purpose=Purpose.REVIEW, item_ref=ref, actor="test", content_type="image/jpeg"
    )
    finding = Finding(
        tenant=TENANT,
        subject=Subject(SubjectKind.UPLOAD, subject or ref),
        source=DetectionSource.USER_REPORT,
        priority=CasePriority.USER_REPORT,
        item_ref=ref,
        kind="image",
        reasons=("user report",),
        hashes={"sha256": record.sha256, "md5": record.md5},
        scores={"nsfw": 0.42},
        provenance={"uploader_ip": "192.0.2.7"},
    )
    return review.cases.add_finding(finding, actor="test", evidence_id=record.id)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the CSRF token of the queue page."""
    form = client.get("/console/login")
    token = LOGIN_TOKEN.search(form.text)
    assert token
    r = client.post(
        "/console/login",
        data={"tenant": TENANT, "username": username, "password": password, "token": token[1]},
    )
    assert r.status_code == 200, r.text[:500]
    return csrf_of(r.text)
