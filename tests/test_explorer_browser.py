"""The jobs explorer in a real Chromium: filter, tick and cancel at once, cancel all that
match in the background (its card goes live to Finished), save the view, on a phone-wide
window too and without JavaScript, with the browser reporting nothing (tests/browser.py
`Watch`)."""

from __future__ import annotations

import re

import pytest

from tests.browser import Watch, sign_in
from tests.support import make_job, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _rows(page):
    return page.locator(".explorer-jobs input[name=ids]")


def _filter_queued_countdowns(page, server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server}/jobs")
    page.locator("fieldset.choices label", has_text="Queued").locator("input").check()
    page.select_option("#f-task", "countdown")
    page.click("button:has-text('Show jobs')")
    expect(page).to_have_url(re.compile(r"/jobs\?.*status=queued.*&task=countdown"))


def test_filter_select_and_bulk_cancel_in_the_browser(browser, server, worker):
    from playwright.sync_api import expect

    user = make_user()
    for _ in range(6):
        make_job(user)
    make_job(user, task="fail-test", status="failed", error="RuntimeError: boom")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, user)
    _filter_queued_countdowns(page, server)
    expect(page.locator("#results-heading")).to_have_text("6 jobs match")

    _rows(page).nth(0).check()
    _rows(page).nth(1).check()
    page.click("button:has-text('Cancel jobs')")
    expect(page.locator(".flash")).to_have_text("Canceled 2 of 2 jobs.")
    expect(page.locator("#results-heading")).to_have_text("4 jobs match")

    page.locator("label", has_text="all 4 matching this filter").locator("input").check()
    page.click("button:has-text('Cancel jobs')")
    expect(page.locator(".flash")).to_contain_text("in the background")
    card = page.locator("#bulk-jobs .job-card").first
    expect(card).to_have_attribute("data-status", "finished", timeout=60_000)
    expect(card.locator(".outcome")).to_contain_text("Canceled 4 of 4 jobs")
    page.reload()
    expect(page.locator("#results-heading")).to_have_text("0 jobs match")

    page.fill("#view-name", "Queued countdowns")
    page.click("button:has-text('Save view')")
    expect(page.locator(".flash")).to_contain_text("Saved the view")
    page.goto(f"{server}/jobs")
    page.click(".saved-list a:has-text('Queued countdowns')")
    expect(page.locator("#f-task")).to_have_value("countdown")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{server}/jobs?status=failed&status=canceled")
    expect(page.locator("#results-heading")).to_have_text("7 jobs match")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    context.close()
    watch.assert_clean()


def test_the_explorer_works_without_javascript(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    for _ in range(3):
        make_job(user)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, user)
    _filter_queued_countdowns(page, server)
    _rows(page).nth(0).check()
    page.click("button:has-text('Cancel jobs')")
    expect(page.locator(".flash")).to_have_text("Canceled 1 of 1 job.")
    page.locator("label", has_text="every job on this page").locator("input").check()
    page.click("button:has-text('Cancel jobs')")
    expect(page.locator(".flash")).to_have_text("Canceled 2 of 2 jobs.")
    expect(page.locator("#results-heading")).to_have_text("0 jobs match")
    context.close()
    watch.assert_clean()
