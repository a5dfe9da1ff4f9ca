"""The queues and workers pages in Chromium: they fit a phone with long names in them, pass
axe-core, and pausing and resuming works with JavaScript and without."""

from __future__ import annotations

import pytest

from tests.browser import Watch, assert_accessible, sign_in
from tests.support import make_job, make_user
from tests.test_workers_page import _fake_worker
from webapp.extensions import db
from webapp.jobs import pauses

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LONG_NAME = "worker-" + "w" * 70


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def console(server, redis, live_db):
    """An admin, a paused queue with a waiting job, a busy worker with a long name and a
    stale one."""
    admin, owner = make_user(admin=True), make_user()
    make_job(owner, status="queued")
    make_job(owner, status="started", worker_name=LONG_NAME)
    pauses.pause("video", admin, redis)
    db.session.commit()
    _fake_worker(redis, LONG_NAME, heartbeat_ago=1)
    _fake_worker(redis, "stuck", heartbeat_ago=600)
    return admin


@pytest.mark.parametrize("width", [320, 390, 768, 1440])
def test_the_pages_fit_and_pass_axe(browser, server, console, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, console)
    for path in ("/console/queues", "/console/workers"):
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        assert _overflow(page) <= 0, f"{path} at {width} px: {_overflow(page)} px too wide"
        assert_accessible(page, f"{path} at {width} px")
    assert page.locator(f"#worker-{LONG_NAME} button:has-text('Stop job')").count() == 1
    assert page.locator("#worker-stuck .badge-failed").inner_text() == "stale"
    context.close()
    watch.assert_clean()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_pause_and_resume_from_the_page(browser, server, console, redis, javascript):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, console)
    page.goto(f"{server}/console/queues")
    page.click("#queue-default-pause")
    expect(page.locator("#queue-default")).to_contain_text("Paused since")
    expect(page.locator(".flashes")).to_contain_text("Queue default paused")
    assert pauses.paused_in_redis(redis) == {"default", "video"}
    page.click("#queue-video-resume")
    expect(page.locator("#queue-video")).to_contain_text("Running")
    assert pauses.paused_in_redis(redis) == {"default"}
    context.close()
    watch.assert_clean()
