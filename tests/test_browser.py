"""A real headless Chromium: sign in, start a countdown, watch its card reach finished."""

import json
import re

import pytest

from tests.browser import open_test_tasks, watch_problems
from tests.support import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_sign_in_start_a_countdown_and_watch_it_finish(server, worker, browser):
    from playwright.sync_api import expect

    user = make_user()
    page = browser.new_page()
    problems = watch_problems(page)  # CSP violations and script errors would show up here
    page.goto(f"{server}/")
    assert "/login" in page.url
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)
    # Signing in rotated the CSRF token: htmx must send the new one (a token's first part is
    # its session's raw token; the rest is a timestamp and a signature).
    header = json.loads(page.evaluate("document.body.getAttribute('hx-headers')"))
    field = page.locator("input[name=csrf_token]").first.input_value()
    assert header["X-CSRFToken"].split(".")[0] == field.split(".")[0]

    # A marker on window survives htmx swaps but not a page load.
    page.evaluate("window.cutroomMarker = 'no reload'")
    open_test_tasks(page)
    form = page.locator("#launch-countdown")
    # Five one-second steps: under load a worker records progress up to a second late
    # (webapp/jobs/worker/drain.py) and the card polls every 2 s; three gave too few polls
    # to be sure of seeing one in between.
    form.locator("input[name=steps]").fill("5")
    form.locator("button[type=submit]").click()

    card = page.locator("#job-list .job-card").first
    expect(card.locator(".job-title")).to_have_text("Countdown")
    seen = set()
    for _ in range(200):
        status = card.get_attribute("data-status")
        seen.add((status, int(card.locator("progress").get_attribute("value"))))
        if status == "finished":
            break
        page.wait_for_timeout(100)
    expect(card.locator(".badge")).to_have_text("Finished", timeout=20_000)
    expect(card.locator(".pct")).to_have_text("100%")
    assert any(status == "started" and 0 < value < 100 for status, value in seen), seen
    assert page.evaluate("window.cutroomMarker") == "no reload"
    # Final: the card is watched no more, and with nothing live the page stops polling.
    assert card.get_attribute("hx-trigger") is None
    expect(card.locator(".live-state")).to_have_count(0)
    expect(page.locator("#live-poll")).not_to_have_attribute("hx-get", re.compile("."))
    assert problems == []


def test_long_emails_and_ids_wrap_and_a_stop_is_not_shown_as_an_error(server, browser):
    from datetime import UTC, datetime

    from tests.browser import sign_in
    from tests.support import make_job

    now = datetime.now(UTC)
    owner = make_user(email=f"{'owner' * 12}@{'long' * 15}.example.com")
    admin = make_user(email=f"{'admin' * 12}@{'long' * 15}.example.com", admin=True)
    stopped = make_job(owner, status="stopped", progress=40, started_at=now, ended_at=now,
                       cancel_requested_at=now, error="Stopped on request while running.",
                       stage="Step 5 of 10", worker_name="w" * 120)
    page = browser.new_page(viewport={"width": 480, "height": 900})
    problems = watch_problems(page)
    sign_in(page, server, admin)
    for path in (f"/jobs/{stopped.id}", "/"):
        page.goto(f"{server}{path}")
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map(e => e.tagName + '.' + e.className)
            .slice(0, 15)""")
        assert wide <= 0, f"{path} is {wide}px wider than the window: {culprits}"
    page.goto(f"{server}/jobs/{stopped.id}")
    outcome = page.locator(".job-card .outcome")
    assert outcome.inner_text() == "Stopped on request at 40%."
    colour = outcome.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(92, 102, 118)"  # muted (--muted), not the error red (#c92a2a)
    assert problems == []
