"""Headless Chromium for the browser tests, and the app served to it as production serves it.

Playwright drives Debian's `chromium` package (Playwright's own browser download does not
work here). Without a Chromium the tests are skipped, and `make test` says so loudly.
conftest.py loads this module as a plugin, so every test module can use the fixtures.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

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


# Reports every Content-Security-Policy violation to the test (Chromium logs most of them on
# the console too; the event also names the directive and what was blocked).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cutroomViolation(`CSP ${event.violatedDirective} blocked ${event.blockedURI || "?"}`
    + ` sample=${JSON.stringify(event.sample)} at ${event.sourceFile}:${event.lineNumber}`
    + ` on ${location.pathname}`);
}, true);
"""
FAILED_TO_LOAD = re.compile(r"Failed to load resource: the server responded with a status of "
                            r"(\d+)")


class Watch:
    """Everything a page reports that a clean app never makes it report: console errors and
    warnings, script errors, CSP violations, failed requests and error responses.

    Chromium logs every 4xx/5xx response as a console error ("Failed to load resource"), so a
    flow that means to get one says so first: `watch.allow(404, "/no-such-page")`. Requests
    Chromium makes and gives up on its own are not failures: a video's (it reads the first
    bytes, then asks again with a Range, or the page moves on), the favicon's (fetched
    after the page loaded, dropped when the next page starts) and a live poll's that is in
    flight when the test moves to the next page (on a slow machine a page's checks can
    outlast the poll interval): the browser aborts it, the server saw nothing wrong."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.allowed: set[tuple[int, str]] = set()
        page.expose_function("cutroomViolation", lambda text: self.problems.append(text))
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def allow(self, status: int, path: str) -> None:
        """An error response the flow means to get."""
        self.allowed.add((status, path))

    def _expected(self, status: int, url: str) -> bool:
        return (status, urlsplit(url).path) in self.allowed

    def _console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        url = (message.location or {}).get("url", "")
        failed = FAILED_TO_LOAD.match(message.text)
        if failed and self._expected(int(failed.group(1)), url):
            return
        self.problems.append(f"console {message.type}: {message.text} ({url})")

    def _failed(self, request) -> None:
        if request.failure == "net::ERR_ABORTED" and (
                request.resource_type == "media" or "favicon" in request.url
                or urlsplit(request.url).path == "/live"):
            return
        self.problems.append(f"request failed: {request.method} {request.url}: "
                             f"{request.failure}")

    def _response(self, response) -> None:
        if response.status >= 400 and not self._expected(response.status, response.url):
            self.problems.append(f"response {response.status}: {response.request.method} "
                                 f"{response.url}")

    def assert_clean(self) -> None:
        assert not self.problems, "the browser reported:\n" + "\n".join(self.problems)


def open_test_tasks(page) -> None:
    """Unfold the home page's test tasks (folded by default, beside the jobs)."""
    tasks = page.locator("details.test-tasks")
    if tasks.get_attribute("open") is None:
        tasks.locator("summary").click()


def go_to(page, label: str) -> None:
    """Follow a link of the header's navigation, opening the phone menu first if folded."""
    menu = page.locator(".menu-button")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()
    page.locator("#site-menu nav a", has_text=label).click()


def sign_in(page, server: str, user) -> None:
    """Sign in through the real form."""
    from playwright.sync_api import expect

    page.goto(f"{server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)
    # The page's scripts may still be loading: a goto now would abort them (which the
    # Watch reports as failed requests).
    page.wait_for_load_state("load")


# axe-core, installed from tests/axe/package-lock.json by `make test` (npm ci).
AXE_SCRIPT = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# axe's failing nodes as plain data, one entry per node of the chosen impacts.
RUN_AXE = """
async (impacts) => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.flatMap((rule) => rule.nodes
    .filter((node) => impacts.includes(node.impact))
    .map((node) => {
      const checks = [...node.any, ...node.all, ...node.none];
      return {id: rule.id, impact: node.impact, help: rule.help,
              target: node.target.map(String), html: node.html,
              message: checks.map((check) => check.message).filter(Boolean)[0] || "",
              contrast: checks.map((check) => check.data)
                .find((data) => data && data.contrastRatio !== undefined) || null};
    }));
}
"""


@functools.cache
def _axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT} is missing): run "
                    "`npm ci --prefix tests/axe` (`make test` does)", pytrace=False)
    return AXE_SCRIPT.read_text()


def _describe(found: dict) -> str:
    html = " ".join(found["html"].split())
    line = (f"{found['id']} ({found['impact']}): {found['help']} at {', '.join(found['target'])}"
            f" — {html[:160]}{'…' if len(html) > 160 else ''}")
    contrast = found["contrast"]
    if found["id"] == "color-contrast" and contrast:
        line += (f" — contrast {contrast['contrastRatio']}:1, needs "
                 f"{contrast['expectedContrastRatio']} ({contrast['fgColor']} on "
                 f"{contrast['bgColor']}, {contrast['fontSize']} {contrast['fontWeight']})")
    elif found["message"]:
        line += f" — {found['message']}"
    return line


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now, one line per node.

    The script goes in through Playwright's evaluate (the DevTools protocol), which the
    page's Content-Security-Policy does not apply to: no inline script, no bypass_csp."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(_axe_source())
    return [_describe(found) for found in page.evaluate(RUN_AXE, list(impacts))]


def assert_accessible(page, label: str) -> None:
    """No serious or critical axe-core violation on the page."""
    found = axe_violations(page)
    assert not found, f"axe-core on {label} ({page.url}):\n" + "\n".join(found)
