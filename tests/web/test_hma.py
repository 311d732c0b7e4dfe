"""``/m/*``: HMA's lookup parameters and response shapes, over our banks and auth."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import Headers, KeyMaker, error_of, photo_png

from childsafe.content.base import Item
from childsafe.hashing.api import hash_file

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100  # opaque bytes: only md5 is taken


@pytest.fixture
def banked(api: TestClient, admin: Headers) -> dict[str, object]:
    """A bank with one photo's PDQ and one "video" md5; returns what was banked."""
    png = photo_png("chelsea")
    pdq = hash_file(Item.from_bytes(png, id="p"), ("pdq",)).hashes["pdq"].value
    vmd5 = hashlib.md5(VIDEO_BYTES).hexdigest()
    api.post("/v1/banks", json={"name": "hma_bank"}, headers=admin)
    r = api.post(
        "/v1/banks/hma_bank/entries",
        json={
            "entries": [
                {"hash_type": "pdq", "value": pdq},
                {"hash_type": "video_md5", "value": vmd5},
            ]
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    return {"png": png, "pdq": pdq, "video_md5": vmd5}


def test_raw_lookup_shapes(api: TestClient, admin: Headers, banked: dict[str, object]) -> None:
    q = {"signal_type": "pdq", "signal": banked["pdq"]}
    r = api.get("/m/raw_lookup", params=q, headers=admin)
    assert r.status_code == 200, r.text
    ids = r.json()["matches"]
    assert len(ids) == 1 and isinstance(ids[0], int)
    r = api.get("/m/raw_lookup", params={**q, "include_distance": "true"}, headers=admin)
    assert r.json() == {"matches": [{"content_id": ids[0], "distance": "0"}]}
    r = api.get("/m/raw_lookup", params={**q, "include_distance": "maybe"}, headers=admin)
    assert r.status_code == 422 and "query.include_distance" in error_of(r)["message"]


def test_lookup_get_answers_bank_names(
    api: TestClient, admin: Headers, banked: dict[str, object]
) -> None:
    pdq = str(banked["pdq"])
    near = f"{int(pdq[0], 16) ^ 1:x}" + pdq[1:]  # one bit away: within the radius
    for signal in (pdq, near):
        r = api.get("/m/lookup", params={"signal_type": "pdq", "signal": signal}, headers=admin)
        assert r.status_code == 200 and r.json() == ["hma_bank"]
    r = api.get("/m/lookup", params={"signal_type": "md5", "signal": "f" * 32}, headers=admin)
    assert r.json() == []


def test_lookup_post_hashes_the_upload_by_content_type(
    api: TestClient, admin: Headers, banked: dict[str, object]
) -> None:
    r = api.post("/m/lookup", files={"photo": ("p.png", banked["png"])}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"pdq": ["hma_bank"]}
    r = api.post("/m/lookup", files={"video": ("v.mp4", VIDEO_BYTES)}, headers=admin)
    assert r.json() == {"video_md5": ["hma_bank"]}
    r = api.post("/m/lookup?types=md5", files={"photo": ("p.png", banked["png"])}, headers=admin)
    assert r.status_code == 422 and "query.types" in error_of(r)["message"]
    both = {"photo": ("p.png", banked["png"]), "video": ("v.mp4", VIDEO_BYTES)}
    r = api.post("/m/lookup", files=both, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "too_many_files"
    r = api.post("/m/lookup?types=video_md5", files={"photo": ("p", banked["png"])}, headers=admin)
    assert r.status_code == 400 and "video_md5" in error_of(r)["message"]
    r = api.post("/m/lookup", files={"audio": ("a", b"x")}, headers=admin)
    assert r.status_code == 400 and "photo" in error_of(r)["message"]
    r = api.post("/m/lookup", files={"photo": ("p.png", b"not an image")}, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "unreadable"


def test_hma_errors(api: TestClient, admin: Headers) -> None:
    r = api.get("/m/lookup", params={"signal_type": "pdq"}, headers=admin)
    assert r.status_code == 422 and "query.signal: required" in error_of(r)["message"]
    r = api.get("/m/raw_lookup", params={"signal": "0" * 64}, headers=admin)
    assert r.status_code == 422 and "query.signal_type" in error_of(r)["message"]
    r = api.get("/m/lookup", params={"signal_type": "tmk", "signal": "x"}, headers=admin)
    assert r.status_code == 422 and "query.signal_type" in error_of(r)["message"]
    r = api.get("/m/lookup", params={"signal_type": "pdq", "signal": "xyz"}, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "bad_hash"
    r = api.get("/m/lookup", params={"url": "http://127.0.0.1/x.jpg"}, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "url_unsupported"
    assert (
        api.get("/m/lookup", params={"signal_type": "pdq", "signal": "0" * 64}).status_code == 401
    )


def test_hma_lookups_are_tenant_scoped(
    api: TestClient, keys: KeyMaker, banked: dict[str, object]
) -> None:
    other = keys("globex")
    r = api.get("/m/lookup", params={"signal_type": "pdq", "signal": banked["pdq"]}, headers=other)
    assert r.status_code == 200 and r.json() == []
