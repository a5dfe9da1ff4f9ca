"""When no answer comes (the network drops, a proxy answers 502 or 504), the page says so
instead of nothing happening; a failing live poll says once that updates are paused, and the
note goes when polls get through again. Chromium's own request interception plays the
broken network and the proxy; the app behind it is the real one."""

from __future__ import annotations

import pytest

from tests.browser import sign_in
from tests.support import make_job, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_action_without_an_answer_says_so(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    job = make_job(user, task="countdown", status="failed", error="boom", attempt=1)
    page = browser.new_page()
    sign_in(page, server, user)
    alert = page.locator("#flash [role=alert]")
    retry = page.locator(f"#job-{job.id} button:has-text('Retry')")

    page.route(f"**/jobs/{job.id}/retry", lambda route: route.abort("connectionreset"))
    retry.click()
    expect(alert).to_contain_text("cannot be reached")
    page.unroute(f"**/jobs/{job.id}/retry")

    page.route(f"**/jobs/{job.id}/retry",
               lambda route: route.fulfill(status=504, body="<h1>Gateway Timeout</h1>"))
    retry.click()
    expect(alert).to_contain_text("HTTP 504")
    expect(page.locator("h1", has_text="Gateway Timeout")).to_have_count(0)  # not swapped in
    page.unroute(f"**/jobs/{job.id}/retry")

    retry.click()  # through at last: the card is queued again and the note is gone
    expect(page.locator(f"#job-{job.id}")).not_to_have_attribute("data-status", "failed")
    expect(alert).to_have_count(0)
    page.close()


def test_a_failing_poll_pauses_live_updates_once_and_recovers(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    job = make_job(user, task="countdown", status="queued")
    page = browser.new_page()
    sign_in(page, server, user)
    notes = page.locator("#flash [data-problem=poll]")
    failed = []

    def broken(route):
        failed.append(route.request.url)
        route.fulfill(status=502, body="Bad Gateway")

    page.route("**/live?*", broken)
    expect(notes).to_have_count(1, timeout=10_000)
    expect(notes).to_contain_text("Live updates are paused")
    page.wait_for_timeout(4_500)  # two more failed polls
    assert len(failed) >= 3
    expect(notes).to_have_count(1)  # said once, not once per poll
    page.unroute("**/live?*")
    expect(notes).to_have_count(0, timeout=10_000)
    expect(page.locator(f"#job-{job.id}")).to_be_visible()
    page.close()


def test_a_session_ended_elsewhere_is_said_once_and_polling_stops(browser, server, live_db):
    from playwright.sync_api import expect

    from webapp.extensions import db
    from webapp.sessions import revoke_all_sessions

    user = make_user()
    for _ in range(3):
        make_job(user, task="countdown", status="queued")
    page = browser.new_page()
    sign_in(page, server, user)
    polls = []
    page.on("request", lambda r: "/live?" in r.url and polls.append(r.url))
    revoke_all_sessions(user)
    db.session.commit()
    expect(page.locator("#flash [role=alert]")).to_contain_text("sign", timeout=10_000)
    page.wait_for_timeout(1_000)
    seen = len(polls)
    page.wait_for_timeout(5_000)
    assert len(polls) == seen, "the page went on polling after the session ended"
    assert seen <= 2  # one poll for all the cards, not one per card
    page.close()
