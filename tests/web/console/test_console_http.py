"""The review console over HTTP: sessions, CSRF, roles, wellness protections, decisions.

Everything runs against the real app and the real SQL stores on SQLite and PostgreSQL; the
assertions read the database (cases, decisions, reveals, the audit log) as well as pages.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from tests.web.console.helpers import (
    PASSWORD,
    TENANT,
    ConsoleClient,
    People,
    Review,
    add_image_case,
    csrf_of,
    decode,
    high_frequency,
    login,
    photo_jpeg,
)

from childsafe.config import Settings
from childsafe.review.base import CaseState, IndustryClass, Outcome, Role
from childsafe.storage import SqlBankStore
from childsafe.web.app import create_app
from childsafe.web.console.auth import COOKIE

Browser = Callable[[str], ConsoleClient]


def _claim(client: ConsoleClient) -> str:
    """Press "next case"; the case page it lands on."""
    r = client.post("/console/next", data={"csrf": client.csrf})
    assert r.status_code == 200, r.text[:300]
    return r.text


# sessions and CSRF ---------------------------------------------------------------------------


def test_unauthenticated_is_sent_to_login(app: FastAPI) -> None:
    client = TestClient(app)
    for path in ("/console/queue", "/console/cases/1", "/console/media/1/blurred", "/console/"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/console/login?next=")
    r = client.post("/console/next", data={"csrf": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_login_sets_a_strict_httponly_cookie_and_logs_it(
    app: FastAPI, people: People, review: Review
) -> None:
    people("alice")
    client = TestClient(app)
    form = client.get("/console/login")
    assert form.headers["cache-control"].startswith("no-store")
    assert "script-src 'self'" in form.headers["content-security-policy"]
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token
    r = client.post(
        "/console/login",
        data={"tenant": TENANT, "username": "alice", "password": PASSWORD, "token": token[1]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/queue"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "max-age=" in flags
    actions = [e.action for e in review.audit.entries(TENANT, target_type="reviewer")]
    assert "console.login" in actions


def test_wrong_password_is_refused_and_audited(
    app: FastAPI, people: People, review: Review
) -> None:
    people("alice")
    client = TestClient(app)
    token = re.search(r'name="token" value="([^"]+)"', client.get("/console/login").text)
    assert token
    r = client.post(
        "/console/login",
        data={
            "tenant": TENANT,
            "username": "alice",
            "password": "wrong-password",
            "token": token[1],
        },
    )
    assert r.status_code == 401
    assert "Wrong tenant, username or password" in r.text
    assert COOKIE not in r.cookies
    failed = [e for e in review.audit.entries(TENANT) if e.action == "console.login_failed"]
    assert [e.target_id for e in failed] == ["alice"]
    assert all("wrong-password" not in str(e.details) for e in failed)


def test_login_without_its_form_token_is_refused(app: FastAPI, people: People) -> None:
    people("alice")
    client = TestClient(app)
    r = client.post(
        "/console/login",
        data={"tenant": TENANT, "username": "alice", "password": PASSWORD, "token": "forged"},
    )
    assert r.status_code == 403
    assert COOKIE not in r.cookies


def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    browser_for: Browser, review: Review
) -> None:
    case, _ = add_image_case(review, "up-csrf")
    alice = browser_for("alice")
    for data in ({}, {"csrf": "not-the-token"}, {"csrf": browser_for("bob").csrf}):
        r = alice.post("/console/next", data=data)
        assert r.status_code == 403, data
        assert "security token" in r.text
    assert review.cases.get(TENANT, case.id).assignee is None


def test_forged_or_tampered_cookie_is_not_a_session(browser_for: Browser) -> None:
    alice = browser_for("alice")
    good = alice.cookies[COOKIE]
    payload, mac = good.rsplit(".", 1)
    for bad in (payload + "." + mac[::-1], "x" * 3000, "not-a-cookie", payload[:-2] + "." + mac):
        alice.cookies.clear()
        alice.cookies.set(COOKIE, bad, path="/console")
        r = alice.get("/console/queue", follow_redirects=False)
        assert r.status_code == 303, bad[:20]


def test_logout_revokes_the_session(browser_for: Browser, review: Review) -> None:
    alice = browser_for("alice")
    cookie = alice.cookies[COOKIE]
    r = alice.post("/console/logout", data={"csrf": alice.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    replay = TestClient(alice.app)
    replay.cookies.set(COOKIE, cookie, path="/console")
    assert replay.get("/console/queue", follow_redirects=False).status_code == 303
    assert "console.logout" in [e.action for e in review.audit.entries(TENANT)]


# roles -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("alice", "/console/audit"),
        ("alice", "/console/reviewers"),
        ("alice", "/console/appeals"),
        ("alice", "/console/escalated"),
        ("lena", "/console/reviewers"),
        ("lena", "/console/audit"),
        ("audrey", "/console/reviewers"),
        ("audrey", "/console/appeals"),
    ],
)
def test_roles_are_checked_on_every_page(browser_for: Browser, who: str, path: str) -> None:
    r = browser_for(who).get(path)
    assert r.status_code == 403
    assert "this page is for" in r.text


def test_auditor_reads_but_never_claims_or_gets_media(browser_for: Browser, review: Review) -> None:
    case, item = add_image_case(review, "up-audit")
    audrey = browser_for("audrey")
    assert audrey.post("/console/next", data={"csrf": audrey.csrf}).status_code == 403
    page = audrey.get(f"/console/cases/{case.id}")
    assert page.status_code == 200
    assert item.hashes["sha256"] in page.text
    assert "<img" not in page.text and "decide-form" not in page.text
    assert audrey.get(f"/console/media/{item.id}/blurred").status_code == 403
    log = audrey.get("/console/audit?verify=true")
    assert log.status_code == 200 and "Chain intact" in log.text
    assert "case.create" in log.text and "console.login" in log.text


def test_reviewer_cannot_open_someone_elses_case(browser_for: Browser, review: Review) -> None:
    add_image_case(review, "up-mine")
    alice = browser_for("alice")
    _claim(alice)
    case = review.cases.list(TENANT)[0]
    assert case.assignee == "alice"
    bob = browser_for("bob")
    assert bob.get(f"/console/cases/{case.id}").status_code == 403
    item = review.cases.items(TENANT, case.id)[0]
    assert bob.get(f"/console/media/{item.id}/blurred").status_code == 403
    assert bob.get("/console/cases/999999").status_code in (403, 404)


# media and reveals -----------------------------------------------------------------------------


def test_blurred_media_is_greyscale_blurred_and_metadata_free(
    browser_for: Browser, review: Review
) -> None:
    _, item = add_image_case(review, "up-blur")
    alice = browser_for("alice")
    page = _claim(alice)
    assert f"/console/media/{item.id}/blurred" in page
    assert f"/console/media/{item.id}/original" not in page
    r = alice.get(f"/console/media/{item.id}/blurred")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"].startswith("no-store")
    blurred = decode(r.content)
    assert blurred.format == "PNG" and blurred.mode == "L"
    assert not blurred.getexif() and "exif" not in blurred.info
    original = decode(photo_jpeg())
    sharp = np.asarray(original.convert("L").resize(blurred.size))
    soft = np.asarray(blurred)
    assert soft.shape == sharp.shape
    assert np.abs(soft.astype(int) - sharp.astype(int)).mean() > 5
    assert high_frequency(soft) < high_frequency(sharp) / 8
    assert review.cases.reveals(TENANT, item.id) == []  # a thumbnail is not a reveal


def test_reveal_records_the_reveal_audits_and_counts_exposure(
    browser_for: Browser, review: Review
) -> None:
    case, item = add_image_case(review, "up-reveal")
    alice = browser_for("alice")
    page = _claim(alice)
    assert "0 of 50 reveals today" in page
    assert alice.get(f"/console/media/{item.id}/original").status_code == 403
    r = alice.post(f"/console/items/{item.id}/reveal", data={"csrf": alice.csrf, "what": "file"})
    assert r.status_code == 200
    assert "1 of 50 reveals today" in r.text
    src = re.search(r'src="(/console/media/\d+/original\?t=[^"]+)"', r.text)
    assert src, "the revealed page shows the original"
    shown = alice.get(src[1].replace("&amp;", "&"))
    assert shown.status_code == 200 and shown.headers["cache-control"].startswith("no-store")
    colour = decode(shown.content)
    assert colour.mode == "RGB" and not colour.getexif()
    assert np.array_equal(np.asarray(colour), np.asarray(decode(photo_jpeg()).convert("RGB")))
    reveals = review.cases.reveals(TENANT, item.id)
    assert [(x.reviewer, x.what) for x in reveals] == [("alice", "file")]
    assert review.cases.item(TENANT, item.id).file_viewed
    assert not review.cases.item(TENANT, item.id).exif_viewed
    actions = [e.action for e in review.audit.entries(TENANT, target_type="item")]
    assert "item.reveal_file" in actions
    assert review.cases.exposure(TENANT, "alice").reveals == 1
    # the grant is bound to alice's session: bob cannot reuse the URL
    bob = browser_for("bob")
    assert bob.get(src[1].replace("&amp;", "&")).status_code == 403
    # EXIF is a separate, recorded reveal
    r = alice.post(f"/console/items/{item.id}/reveal", data={"csrf": alice.csrf, "what": "exif"})
    assert r.status_code == 200
    assert "TestCam" in r.text and "TestModel 1" in r.text
    assert review.cases.item(TENANT, item.id).exif_viewed
    assert case.id == review.cases.item(TENANT, item.id).case_id


def test_reveal_past_the_daily_limit_is_refused(browser_for: Browser, review: Review) -> None:
    _, first = add_image_case(review, "up-limit-1", subject="u1")
    _, second = add_image_case(review, "up-limit-2", subject="u1")
    limy = browser_for("limy")
    _claim(limy)
    ok = limy.post(f"/console/items/{first.id}/reveal", data={"csrf": limy.csrf, "what": "file"})
    assert ok.status_code == 200 and "1 of 1 reveals today" in ok.text
    refused = limy.post(
        f"/console/items/{second.id}/reveal", data={"csrf": limy.csrf, "what": "file"}
    )
    assert refused.status_code == 409
    assert "daily limit" in refused.text
    assert review.cases.reveals(TENANT, second.id) == []
    assert review.cases.exposure(TENANT, "limy").reveals == 1


def test_metadata_only_reviewer_never_gets_media(browser_for: Browser, review: Review) -> None:
    case, item = add_image_case(review, "up-meta")
    meta = browser_for("meta")
    page = _claim(meta)
    assert f"Case #{case.id}" in page
    assert "<img" not in page and "hashes and metadata only" in page
    assert item.hashes["sha256"] in page
    assert meta.get(f"/console/media/{item.id}/blurred").status_code == 403
    r = meta.post(f"/console/items/{item.id}/reveal", data={"csrf": meta.csrf, "what": "file"})
    assert r.status_code == 403
    assert review.cases.reveals(TENANT, item.id) == []


def test_session_toggle_switches_to_metadata_only(browser_for: Browser, review: Review) -> None:
    case, item = add_image_case(review, "up-toggle")
    alice = browser_for("alice")
    _claim(alice)
    r = alice.post("/console/session/metadata-only", data={"csrf": alice.csrf, "on": "on"})
    assert r.status_code == 200 and "Metadata only: on" in r.text
    page = alice.get(f"/console/cases/{case.id}").text
    assert "<img" not in page
    assert alice.get(f"/console/media/{item.id}/blurred").status_code == 403
    r = alice.post("/console/session/metadata-only", data={"csrf": alice.csrf, "on": ""})
    assert "Metadata only: off" in r.text
    assert alice.get(f"/console/media/{item.id}/blurred").status_code == 200


def test_corrupt_image_gets_a_placeholder_not_a_500(browser_for: Browser, review: Review) -> None:
    _, item = add_image_case(review, "up-corrupt", photo_jpeg()[:200])
    alice = browser_for("alice")
    _claim(alice)
    r = alice.get(f"/console/media/{item.id}/blurred")
    assert r.status_code == 200 and "x-preview-problem" in r.headers
    assert decode(r.content).mode == "L"


# decisions -------------------------------------------------------------------------------------


def test_decision_flow_with_second_review_end_to_end(browser_for: Browser, review: Review) -> None:
    case, item = add_image_case(review, "up-flow")
    alice = browser_for("alice")
    page = _claim(alice)
    assert "decide-form" in page and "A2" in page
    note = "Bewertung: eindeutig 🙂 <script>alert(1)</script>"
    r = alice.post(
        f"/console/cases/{case.id}/decide",
        data={
            "csrf": alice.csrf,
            "outcome": "violation",
            "reason_code": "csam_new",
            "industry_class": "A2",
            "generative_ai": "on",
            "item_id": str(item.id),
            "note": note,
        },
    )
    assert r.status_code == 200 and "Decision recorded" in r.text
    assert review.cases.get(TENANT, case.id).state == CaseState.SECOND_REVIEW
    # alice may not second-review her own decision: next case finds nothing for her
    assert "queue is empty" in _claim(alice)
    bob = browser_for("bob")
    second = _claim(bob)
    assert 'id="second-review"' in second and "csam_new, A2" in second
    assert "<script>alert(1)</script>" not in second and "&lt;script&gt;" in second
    r = bob.post(
        f"/console/cases/{case.id}/decide",
        data={
            "csrf": bob.csrf,
            "outcome": "violation",
            "reason_code": "csam_new",
            "industry_class": "A2",
            "generative_ai": "on",
        },
    )
    assert r.status_code == 200
    assert review.cases.get(TENANT, case.id).state == CaseState.ACTIONED
    decisions = review.cases.decisions(TENANT, case.id)
    assert [(d.reviewer, d.second_review) for d in decisions] == [("alice", False), ("bob", True)]
    assert all(d.industry_class == IndustryClass.A2 and d.generative_ai for d in decisions)
    assert decisions[0].note == note and decisions[0].item_id == item.id
    assert decisions[1].outcome == Outcome.VIOLATION
    actions = [e.action for e in review.audit.entries(TENANT, target_type="case")]
    assert actions.count("case.decide") == 2


def test_bad_decision_forms_are_refused_with_a_clear_message(
    browser_for: Browser, review: Review
) -> None:
    case, _ = add_image_case(review, "up-bad")
    alice = browser_for("alice")
    _claim(alice)
    base = {"csrf": alice.csrf, "outcome": "violation", "reason_code": "csam_new"}
    cases = [
        ({"outcome": "maybe"}, 400, "outcome"),
        ({"reason_code": "made_up"}, 400, "reason code"),
        ({"industry_class": "C9"}, 400, "industry classification"),
        ({"item_id": "1; drop"}, 400, "item"),
        ({"note": "x" * 5000}, 400, "note"),
        ({"note": "nul \x00 byte"}, 400, "control characters"),
        ({"reason_code": "benign_child"}, 409, "does not describe a violation"),
    ]
    for change, status, words in cases:
        r = alice.post(f"/console/cases/{case.id}/decide", data={**base, **change})
        assert r.status_code == status, (change, r.text[:300])
        assert words in r.text
    assert review.cases.decisions(TENANT, case.id) == []
    assert review.cases.get(TENANT, case.id).state == CaseState.IN_REVIEW


def test_escalation_goes_to_leads_and_appeals_are_decided_by_leads(
    browser_for: Browser, review: Review
) -> None:
    case, _ = add_image_case(review, "up-esc")
    alice = browser_for("alice")
    _claim(alice)
    alice.post(
        f"/console/cases/{case.id}/decide",
        data={"csrf": alice.csrf, "outcome": "escalate", "reason_code": "insufficient"},
    )
    assert review.cases.get(TENANT, case.id).state == CaseState.ESCALATED
    lena = browser_for("lena")
    assert f"/console/cases/{case.id}" in lena.get("/console/escalated").text
    page = lena.post(f"/console/cases/{case.id}/claim", data={"csrf": lena.csrf})
    assert page.status_code == 200 and "decide-form" in page.text
    lena.post(
        f"/console/cases/{case.id}/decide",
        data={
            "csrf": lena.csrf,
            "outcome": "violation",
            "reason_code": "csam_new",
            "industry_class": "B2",
        },
    )
    # the lead's violation still waits for a second reviewer, who may be a plain reviewer
    assert review.cases.get(TENANT, case.id).state == CaseState.SECOND_REVIEW
    bob = browser_for("bob")
    _claim(bob)
    bob.post(
        f"/console/cases/{case.id}/decide",
        data={
            "csrf": bob.csrf,
            "outcome": "violation",
            "reason_code": "csam_new",
            "industry_class": "B2",
        },
    )
    assert review.cases.get(TENANT, case.id).state == CaseState.ACTIONED
    appeal = review.cases.file_appeal(
        TENANT, case.id, filed_by="user-42", statement="Das war ich nicht"
    )
    listing = lena.get("/console/appeals")
    assert f'id="appeal-{appeal.id}"' in listing.text and "Das war ich nicht" in listing.text
    r = lena.post(
        f"/console/appeals/{appeal.id}/decide",
        data={"csrf": lena.csrf, "restore": "yes", "note": "context shows a mistake"},
    )
    assert r.status_code == 200 and "Appeal decided" in r.text
    assert review.cases.appeals(TENANT, case.id)[0].outcome == "restored"
    assert review.cases.get(TENANT, case.id).state == CaseState.RESTORED


def test_admin_adds_a_reviewer_who_can_then_sign_in(
    browser_for: Browser, review: Review, app: FastAPI
) -> None:
    adam = browser_for("adam")
    r = adam.post(
        "/console/reviewers",
        data={
            "csrf": adam.csrf,
            "username": "zoë",
            "role": "reviewer",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 409 and "bad reviewer username" in r.text  # non-ASCII refused, clearly
    form = {
        "csrf": adam.csrf,
        "username": "zoe",
        "display_name": "Zoë Ångström",
        "role": "reviewer",
        "password": PASSWORD,
        "daily_reveal_limit": "7",
        "metadata_only": "on",
    }
    for change, words in [
        ({"display_name": "Zoë\x00"}, "control characters"),
        ({"role": "superuser"}, "role"),
        ({"daily_reveal_limit": "-1"}, "whole number"),
        ({"password": "short"}, "password"),
    ]:
        r = adam.post("/console/reviewers", data={**form, **change})
        assert r.status_code in (400, 409) and words in r.text, change
    assert "zoe" not in [x.username for x in review.cases.reviewers(TENANT)]
    r = adam.post("/console/reviewers", data=form)
    assert r.status_code == 200 and "Zoë Ångström" in r.text
    zoe = review.cases.reviewer(TENANT, "zoe")
    assert zoe.daily_reveal_limit == 7 and zoe.metadata_only and zoe.role == Role.REVIEWER
    client = TestClient(app)
    csrf = login(client, "zoe")
    queue = client.get("/console/queue").text
    assert csrf == csrf_of(queue) and "metadata only" in queue and "Zoë Ångström" in queue


def test_concurrent_next_case_never_hands_one_case_to_two(
    browser_for: Browser, review: Review
) -> None:
    add_image_case(review, "up-race")
    clients = [browser_for(name) for name in ("alice", "bob", "lena")]
    pages: list[str] = []
    barrier = threading.Barrier(len(clients))

    def press(client: ConsoleClient) -> None:
        barrier.wait()
        pages.append(_claim(client))

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    landed = [p for p in pages if 'id="decide-form"' in p]
    assert len(landed) == 1
    assert sum("queue is empty" in p for p in pages) == 2
    case = review.cases.list(TENANT)[0]
    assert case.assignee in ("alice", "bob", "lena")


def test_pages_carry_security_headers_and_no_media_in_cache(
    browser_for: Browser, review: Review
) -> None:
    case, _ = add_image_case(review, "up-headers")
    alice = browser_for("alice")
    _claim(alice)
    r = alice.get(f"/console/cases/{case.id}")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"].startswith("no-store")
    css = alice.get("/console/static/console.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    assert png.getvalue()  # PIL works in this environment (sanity for the media tests)


def test_login_never_redirects_off_the_console(app: FastAPI, people: People) -> None:
    people("alice")
    for target, expected in [
        ("//evil.example/x", "/console/queue"),
        ("https://evil.example/console/queue", "/console/queue"),
        ("/console/../docs", "/console/queue"),
        ("/console/audit", "/console/audit"),
    ]:
        client = TestClient(app)
        token = re.search(r'name="token" value="([^"]+)"', client.get("/console/login").text)
        assert token
        r = client.post(
            "/console/login",
            data={
                "tenant": TENANT,
                "username": "alice",
                "password": PASSWORD,
                "token": token[1],
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == expected, target


def test_bad_requests_get_clear_pages_not_tracebacks(app: FastAPI, browser_for: Browser) -> None:
    client = TestClient(app)
    token = re.search(r'name="token" value="([^"]+)"', client.get("/console/login").text)
    assert token
    r = client.post(
        "/console/login",
        data={"tenant": TENANT, "username": "ü" * 10_000, "password": "x", "token": token[1]},
    )
    assert r.status_code == 400 and "username" in r.text and "ü" * 50 not in r.text
    r = client.post(
        "/console/login",
        data={
            "tenant": "NOT A TENANT\x00",
            "username": "alice",
            "password": "x",
            "token": token[1],
        },
    )
    assert r.status_code == 401
    alice = browser_for("alice")
    r = alice.get("/console/cases/not-a-number")
    assert r.status_code == 400 and "case_id" in r.text
    r = alice.get("/console/cases/424242")
    assert r.status_code == 404 and "no case 424242" in r.text
    assert alice.get("/console/nowhere").status_code == 404


def test_console_answers_503_before_the_service_has_started(
    store: SqlBankStore, settings: Settings
) -> None:
    app = create_app(settings, store=store, warm_up=False)
    r = TestClient(app).get("/console/login")  # no lifespan: nothing opened yet
    assert r.status_code == 503 and "not finished starting" in r.text
