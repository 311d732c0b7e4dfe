"""The console in real headless Chromium against a real uvicorn server on 127.0.0.1.

One reviewer signs in, takes the next case, sees the blurred greyscale thumbnail, reveals
the image, decides (violation, A2, a reason code); a second reviewer confirms. The test then
reads the database: the case is actioned, both decisions and the reveal are recorded. The
browser's console must stay free of errors (a Content-Security-Policy violation would show
there: the console loads nothing from outside).

Without ``/usr/bin/chromium`` the test skips locally and FAILS in CI (``CI=true``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from tests.web.console.helpers import PASSWORD, TENANT, People, Review, add_image_case

from childsafe.config import Settings
from childsafe.review.base import CaseState, IndustryClass
from childsafe.storage import SqlBankStore
from childsafe.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing in CI: install Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the browser test needs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(store: SqlBankStore, settings: Settings) -> Iterator[str]:
    """A real uvicorn server in a thread; its base URL."""
    import uvicorn

    app: FastAPI = create_app(settings, store=store, warm_up=False)
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=srv.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_review_in_a_real_browser(server: str, review: Review, people: People) -> None:
    _need_chromium()
    people("alice", "bob")
    from playwright.sync_api import sync_playwright

    case, item = add_image_case(review, "browser-upload")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            def sign_in(username: str) -> None:
                page.goto(f"{server}/console/queue")
                assert "/console/login" in page.url
                page.fill("#tenant", TENANT)
                page.fill("#username", username)
                page.fill("#password", PASSWORD)
                page.click("#login")
                page.wait_for_url(f"{server}/console/queue")

            sign_in("alice")
            assert page.inner_text("#exposure") == "0 of 50 reveals today"
            page.click("#next-case")
            page.wait_for_url(f"{server}/console/cases/{case.id}?notice=claimed")
            thumb = page.locator(f"#thumb-{item.id}")
            assert "/blurred" in (thumb.get_attribute("src") or "")
            page.wait_for_function(f"document.getElementById('thumb-{item.id}').naturalWidth > 0")
            grey = page.evaluate(
                """(id) => {
                  const img = document.getElementById(id);
                  const c = document.createElement('canvas');
                  c.width = img.naturalWidth; c.height = img.naturalHeight;
                  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                  const d = g.getImageData(0, 0, c.width, c.height).data;
                  for (let i = 0; i < d.length; i += 4)
                    if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) return false;
                  return true;
                }""",
                f"thumb-{item.id}",
            )
            assert grey, "the default thumbnail is greyscale"

            page.click(f"#reveal-{item.id}")
            revealed = page.locator(f"#revealed-{item.id}")
            revealed.wait_for()
            page.wait_for_function(
                f"document.getElementById('revealed-{item.id}').naturalWidth === 256"
            )
            assert page.inner_text("#exposure") == "1 of 50 reveals today"
            assert page.locator(f"#thumb-{item.id}").count() == 0

            page.check("#outcome-violation")
            page.select_option("#reason", "csam_new")
            page.select_option("#industry-class", "A2")
            page.fill("#note", "first review: confirmed against the report")
            page.click("#decide")
            page.wait_for_url(f"{server}/console/queue?notice=decided")
            assert "Decision recorded" in page.inner_text("main")

            page.click("text=Sign out")
            page.wait_for_url(f"{server}/console/login")
            sign_in("bob")
            page.click("#next-case")
            page.wait_for_url(f"{server}/console/cases/{case.id}?notice=claimed")
            assert "csam_new, A2" in page.inner_text("#second-review")
            page.check("#outcome-violation")
            page.select_option("#reason", "csam_new")
            page.select_option("#industry-class", "A2")
            page.click("#decide")
            page.wait_for_url(f"{server}/console/queue?notice=decided")
        finally:
            browser.close()

    assert errors == []
    stored = review.cases.get(TENANT, case.id)
    assert stored.state == CaseState.ACTIONED
    decisions = review.cases.decisions(TENANT, case.id)
    assert [(d.reviewer, d.second_review, d.industry_class) for d in decisions] == [
        ("alice", False, IndustryClass.A2),
        ("bob", True, IndustryClass.A2),
    ]
    reveals = review.cases.reveals(TENANT, item.id)
    assert [(r.reviewer, r.what) for r in reveals] == [("alice", "file")]
    assert review.cases.item(TENANT, item.id).file_viewed
    assert review.cases.exposure(TENANT, "bob").reveals == 0
