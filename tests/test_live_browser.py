"""One poll per page, in a real Chromium (the app served over HTTP as production serves it):
however many live cards a page shows it asks /live once per interval, a change shows within
an interval, a final card is watched no more, and without JavaScript the page still works."""

from __future__ import annotations

import re

import pytest

from tests.browser import sign_in
from tests.support import make_job, make_user
from webapp.extensions import db
from webapp.jobs import transitions

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

INTERVAL_MS = 2_000
# One interval, and the poll's own round trip on a loaded machine.
WITHIN_AN_INTERVAL = INTERVAL_MS + 1_000


def _requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def _polls(seen: list[str]) -> list[str]:
    return [url for url in seen if "/live?" in url]


def _progress(job, percent: int, stage: str) -> None:
    assert transitions.record_progress(job.id, percent, stage)
    db.session.commit()


def test_a_page_of_live_cards_asks_once_per_interval(browser, server, live_db):
    user = make_user()
    jobs = [make_job(user, status="started") for _ in range(6)]
    page = browser.new_page()
    sign_in(page, server, user)
    seen = _requests(page)
    page.wait_for_timeout(3 * INTERVAL_MS + 500)
    polls = _polls(seen)
    assert 2 <= len(polls) <= 4, polls  # one every 2 s, not one per card
    assert not [url for url in seen if "/card" in url]
    for job in jobs:  # each poll names every live card
        assert all(f"c={job.id.hex}" in url for url in polls)


def test_a_change_shows_within_an_interval_and_a_final_card_drops_out(browser, server,
                                                                     live_db):
    from playwright.sync_api import expect

    user = make_user()
    moving, other = make_job(user, status="started"), make_job(user, status="started")
    page = browser.new_page()
    sign_in(page, server, user)
    card = page.locator(f"#job-{moving.id}")
    page.wait_for_timeout(INTERVAL_MS + 500)  # a first poll went through

    _progress(moving, 45, "Rendering the middle")
    expect(card.locator("progress")).to_have_attribute("value", "45",
                                                       timeout=WITHIN_AN_INTERVAL)
    expect(card.locator(".stage")).to_have_text("Rendering the middle")

    assert transitions.mark_finished(moving.id, {"steps": 3})
    db.session.commit()
    expect(card).to_have_attribute("data-status", "finished", timeout=WITHIN_AN_INTERVAL)
    expect(card.locator(".live-state")).to_have_count(0)
    seen = _requests(page)
    page.wait_for_timeout(2 * INTERVAL_MS + 500)
    polls = _polls(seen)
    assert polls and all(moving.id.hex not in url for url in polls)  # no longer asked
    assert all(other.id.hex in url for url in polls)

    assert transitions.mark_failed(other.id, "boom", "exception")
    db.session.commit()
    expect(page.locator(f"#job-{other.id}")).to_have_attribute("data-status", "failed",
                                                               timeout=WITHIN_AN_INTERVAL)
    page.wait_for_timeout(300)
    seen = _requests(page)
    page.wait_for_timeout(2 * INTERVAL_MS + 500)
    assert _polls(seen) == []  # nothing live: the page polls no more
    expect(page.locator("#live-poll")).not_to_have_attribute("hx-trigger", re.compile("."))


def test_admins_see_other_users_cards_change(browser, server, live_db):
    from playwright.sync_api import expect

    owner, admin = make_user(), make_user(admin=True)
    job = make_job(owner, status="started")
    page = browser.new_page()
    sign_in(page, server, admin)
    page.wait_for_timeout(INTERVAL_MS + 500)
    _progress(job, 80, "Nearly there")
    card = page.locator(f"#job-{job.id}")
    expect(card.locator(".stage")).to_have_text("Nearly there", timeout=WITHIN_AN_INTERVAL)
    expect(card.locator(".owner")).to_have_text(owner.email)


def test_the_job_page_follows_its_job(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    job = make_job(user, status="started")
    page = browser.new_page()
    sign_in(page, server, user)
    page.goto(f"{server}/jobs/{job.id}")
    seen = _requests(page)
    _progress(job, 30, "Step 3 of 10")
    detail = page.locator("#job-detail")
    expect(detail.locator("progress")).to_have_attribute("value", "30",
                                                         timeout=WITHIN_AN_INTERVAL)
    assert transitions.mark_finished(job.id, {"steps": 10})
    db.session.commit()
    expect(detail.locator(".badge").first).to_have_text("Finished", timeout=WITHIN_AN_INTERVAL)
    expect(detail.locator(".live-state")).to_have_count(0)
    assert _polls(seen) and all(f"d={job.id.hex}" in url for url in _polls(seen))


def test_without_javascript_the_page_shows_cards_and_its_forms_work(browser, server,
                                                                   live_db):
    from playwright.sync_api import expect

    user = make_user()
    queued = make_job(user, status="queued")
    running = make_job(user, status="started", progress=20)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server, user)
    seen = _requests(page)
    expect(page.locator(f"#job-{running.id} progress")).to_have_attribute("value", "20")
    _progress(running, 60, "Later")
    page.wait_for_timeout(INTERVAL_MS + 500)
    assert _polls(seen) == []  # nothing polls without JavaScript...
    page.locator(f"#job-{queued.id} button:has-text('Cancel')").click()  # ...forms post
    expect(page.locator(f"#job-{queued.id}")).to_have_attribute("data-status", "canceled")
    # ...and the page they come back to is up to date.
    expect(page.locator(f"#job-{running.id} progress")).to_have_attribute("value", "60")
    page.goto(f"{server}/jobs/{running.id}")
    expect(page.locator("#job-detail .stage")).to_have_text("Later")
    context.close()


def test_a_card_whose_job_is_deleted_becomes_a_note(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    job = make_job(user, status="started")
    page = browser.new_page()
    sign_in(page, server, user)
    db.session.delete(db.session.merge(job))
    db.session.commit()
    card = page.locator(f"#job-{job.id}")
    expect(card).to_contain_text("no longer exists", timeout=WITHIN_AN_INTERVAL)
    expect(card).to_have_attribute("data-status", "gone")
