"""Headless Chromium for the browser tests, and the app served to it as production serves it.

Playwright drives Debian's `chromium` package (Playwright's own browser download does not
work here). Without a Chromium the tests are skipped, and `make test` says so loudly.
conftest.py loads this module as a plugin, so every test module can use the fixtures.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.support import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as root in a container, with no network beyond localhost.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(secure_app, live_db):
    """The app, as production runs it (CSRF and CSP on), over real HTTP from a thread."""
    httpd = make_server("127.0.0.1", 0, secure_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"NO CHROMIUM at {CHROMIUM}: the browser test did not run "
                    "(apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_problems(page) -> list[str]:
    """Script errors and console errors (CSP violations among them) the page reports."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def sign_in(page, server: str, user) -> None:
    """Sign in through the real form."""
    from playwright.sync_api import expect

    page.goto(f"{server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)
