"""``/v1/banks``: create, fill, show, delete; all-or-nothing changes; tenant isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.helpers import Headers, KeyMaker, error_of, photo_png

from childsafe.content.base import Item
from childsafe.hashing.api import hash_file
from childsafe.tenancy.base import Scope

MD5_A = "0" * 31 + "a"
MD5_B = "0" * 31 + "b"


def _hashes(png: bytes) -> dict[str, str]:
    found = hash_file(Item.from_bytes(png, id="t"), ("md5", "pdq"))
    return {t: found.hashes[t].value for t in ("md5", "pdq")}


def test_bank_lifecycle(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/banks", json={"name": "known", "description": "test"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 0 and r.json()["entry_count"] == 0
    assert api.post("/v1/banks", json={"name": "known"}, headers=admin).status_code == 409
    entries = {"entries": [{"hash_type": "md5", "value": MD5_A.upper(), "label": "x"}]}
    r = api.post("/v1/banks/known/entries", json=entries, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() | {"format": None} == {
        "bank": "known",
        "version": 1,
        "added": 1,
        "duplicates": 0,
        "removed": 0,
        "records": 1,
        "format": None,
        "skipped": {},
    }
    again = api.post("/v1/banks/known/entries", json=entries, headers=admin).json()
    assert (again["version"], again["added"], again["duplicates"]) == (1, 0, 1)
    r = api.get("/v1/banks/known", headers=admin)
    assert r.json()["entry_count"] == 1 and r.json()["version"] == 1
    assert [b["name"] for b in api.get("/v1/banks", headers=admin).json()["banks"]] == ["known"]
    r = api.post(
        "/v1/banks/known/removals", json={"hash_type": "md5", "values": [MD5_A]}, headers=admin
    )
    assert r.status_code == 200 and r.json()["removed"] == 1
    assert api.delete("/v1/banks/known", headers=admin).status_code == 204
    assert api.get("/v1/banks/known", headers=admin).status_code == 404


def test_a_bad_hash_refuses_the_whole_change_naming_it(api: TestClient, admin: Headers) -> None:
    api.post("/v1/banks", json={"name": "b1"}, headers=admin)
    body = {"entries": [{"hash_type": "md5", "value": MD5_A}, {"hash_type": "md5", "value": "zz"}]}
    r = api.post("/v1/banks/b1/entries", json=body, headers=admin)
    err = error_of(r)
    assert r.status_code == 400 and err["code"] == "bad_hash_list"
    assert "entries:2" in err["message"]
    assert api.get("/v1/banks/b1", headers=admin).json()["entry_count"] == 0
    good = {"entries": [{"hash_type": "md5", "value": MD5_A}]}
    assert api.post("/v1/banks/missing/entries", json=good, headers=admin).status_code == 404
    r = api.post("/v1/banks", json={"name": "../etc"}, headers=admin)
    assert r.status_code == 422 and "body.name" in error_of(r)["message"]


def test_hash_list_file_upload(api: TestClient, admin: Headers) -> None:
    api.post("/v1/banks", json={"name": "lists"}, headers=admin)
    text = f"md5 {MD5_A}\nmd5 {MD5_B}\n".encode()
    r = api.post(
        "/v1/banks/lists/entries?format=text&label=demo",
        files={"file": ("list.txt", text)},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["format"]) == (2, "text")
    bad = api.post(
        "/v1/banks/lists/entries?format=csv",
        files={"file": ("l.csv", b"hash_type,value\nmd5,nothex\n")},
        headers=admin,
    )
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_hash_list"
    assert api.get("/v1/banks/lists", headers=admin).json()["entry_count"] == 2
    missing = api.post("/v1/banks/nope/entries", files={"file": ("l.txt", text)}, headers=admin)
    assert missing.status_code == 404


def test_banked_image_is_blocked_and_matched(api: TestClient, admin: Headers) -> None:
    png = photo_png("chelsea")
    hashes = _hashes(png)
    api.post("/v1/banks", json={"name": "known"}, headers=admin)
    body = {"entries": [{"hash_type": "pdq", "value": hashes["pdq"], "label": "benign-test"}]}
    assert api.post("/v1/banks/known/entries", json=body, headers=admin).status_code == 200
    # A re-encoded copy (different bytes, same picture) is caught by PDQ at once.
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.open(BytesIO(png)).convert("RGB").save(buf, "JPEG", quality=90)
    r = api.post("/v1/screen/image", files={"file": ("c.jpg", buf.getvalue())}, headers=admin)
    v = r.json()
    assert v["decision"] == "block" and v["create_case"] is True
    assert v["matches"][0]["bank"] == "known" and v["matches"][0]["hash_type"] == "pdq"
    r = api.post("/v1/match", json={"hash_type": "pdq", "value": hashes["pdq"]}, headers=admin)
    assert r.status_code == 200 and [m["bank"] for m in r.json()["matches"]] == ["known"]
    r = api.post("/v1/match", files={"file": ("c.png", png)}, headers=admin)
    assert r.status_code == 200 and r.json()["matches"] and r.json()["hashes"]["md5"]
    other = api.post("/v1/match", files={"file": ("x.png", photo_png("coffee"))}, headers=admin)
    assert other.json()["matches"] == []


def test_match_errors(api: TestClient, admin: Headers) -> None:
    r = api.post("/v1/match", json={"hash_type": "pdq", "value": "abc"}, headers=admin)
    assert r.status_code == 400 and error_of(r)["code"] == "bad_hash"
    r = api.post("/v1/match", json={"hash_type": "nope", "value": "abc"}, headers=admin)
    assert r.status_code == 422 and "body.hash_type" in error_of(r)["message"]
    r = api.post("/v1/match", content=b"{", headers={**admin, "content-type": "application/json"})
    assert r.status_code == 400 and error_of(r)["code"] == "malformed_json"


def test_tenants_cannot_see_or_touch_each_others_banks(api: TestClient, keys: KeyMaker) -> None:
    a, b = keys("acme"), keys("globex")
    png = photo_png("chelsea")
    pdq = _hashes(png)["pdq"]
    api.post("/v1/banks", json={"name": "secret"}, headers=a)
    api.post(
        "/v1/banks/secret/entries",
        json={"entries": [{"hash_type": "pdq", "value": pdq}]},
        headers=a,
    )
    # 404, not 403: B must not learn that A has a bank of that name.
    assert api.get("/v1/banks/secret", headers=b).status_code == 404
    assert api.delete("/v1/banks/secret", headers=b).status_code == 404
    r = api.post(
        "/v1/banks/secret/entries",
        json={"entries": [{"hash_type": "md5", "value": MD5_A}]},
        headers=b,
    )
    assert r.status_code == 404
    assert api.get("/v1/banks", headers=b).json()["banks"] == []
    # B's uploads and lookups never match A's bank.
    assert (
        api.post("/v1/screen/image", files={"file": ("c.png", png)}, headers=b).json()["decision"]
        == "allow"
    )
    assert (
        api.post("/v1/match", json={"hash_type": "pdq", "value": pdq}, headers=b).json()["matches"]
        == []
    )
    # Same name, separate banks.
    assert api.post("/v1/banks", json={"name": "secret"}, headers=b).status_code == 201
    assert api.get("/v1/banks/secret", headers=a).json()["entry_count"] == 1
    assert api.get("/v1/banks/secret", headers=b).json()["entry_count"] == 0


def test_bank_scopes(api: TestClient, keys: KeyMaker) -> None:
    reader, writer = keys("acme", Scope.BANKS_READ), keys("acme", Scope.BANKS_WRITE)
    assert api.post("/v1/banks", json={"name": "x"}, headers=reader).status_code == 403
    assert api.post("/v1/banks", json={"name": "x"}, headers=writer).status_code == 201
    assert api.get("/v1/banks", headers=reader).status_code == 200
    assert api.get("/v1/banks", headers=writer).status_code == 403
    assert (
        api.post("/v1/match", json={"hash_type": "md5", "value": MD5_A}, headers=reader).status_code
        == 403
    )
