"""Every page on any screen and in both themes, in a real Chromium: no page is wider than the
viewport from 320 px up, the header folds into a menu on a phone, the home page puts the
jobs high, the theme follows the system and a chosen one sticks, and the home page's job
counts, new cards and announcements stay live.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import Watch, sign_in
from tests.support import make_job, make_user
from webapp.models import Project

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDTHS = (320, 390, 768, 1440)
# Background of <body> in each theme (static/app.css --bg).
LIGHT_BG = "rgb(246, 247, 249)"
DARK_BG = "rgb(15, 19, 24)"


def _pages(job_id: str, project_id: int, admin: bool) -> list[str]:
    pages = ["/", f"/jobs/{job_id}", "/jobs", "/jobs?status=failed&q=xxx", "/projects",
             f"/projects/{project_id}",
             "/settings/sessions", "/settings/password", "/settings/tokens", "/no-such-page"]
    if admin:
        pages += ["/admin/users", "/admin/audit", "/console/queues", "/console/workers",
                  "/rq/0/view/queues", "/rq/0/view/workers", "/rq/0/view/jobs"]
    return pages


def _create_project(page, server: str, title: str) -> int:
    """A project from the home page's New video form (title and topic only)."""
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    page.fill("#new-title", title)
    page.fill("#new-topic", "How bees make honey")
    page.click("button:has-text('Create project')")
    expect(page.locator("h1")).to_have_text(title)
    return int(re.search(r"/projects/(\d+)", page.url).group(1))


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
def test_no_page_is_wider_than_the_viewport_from_320_px(browser, server, live_db, admin):
    user = make_user(admin=admin)
    # Long unbroken text where users put it: a job's parameters and error, an email.
    long = "x" * 300
    job = make_job(user, task="trigger-test", status="failed", params={"message": long},
                   error=f"StageError: {long}", attempt=1)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    watch.allow(404, "/no-such-page")
    sign_in(page, server, user)
    project_id = _create_project(page, server, "Bees " + "y" * 120)
    # A script, so the page also shows the scene editor's previews (portrait, the tallest).
    project = live_db.get(Project, project_id)
    project.script = [{"heading": "Foraging " + "z" * 80, "narration": "Bees fly out. " * 9}]
    project.format = "portrait-1080"
    live_db.commit()
    wide = []
    for path in _pages(str(job.id), project_id, admin):
        page.set_viewport_size({"width": WIDTHS[0], "height": 800})
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        for width in WIDTHS:  # the page laid out again at each width, as a resize does
            page.set_viewport_size({"width": width, "height": 800})
            if (extra := _overflow(page)) > 0:
                wide.append(f"{path} at {width} px: {extra} px too wide")
    page.set_viewport_size({"width": 320, "height": 800})
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    if (extra := _overflow(page)) > 0:
        wide.append(f"/login at 320 px: {extra} px too wide")
    context.close()
    assert not wide, "\n".join(wide)
    watch.assert_clean()


def test_the_header_folds_into_a_menu_on_a_phone(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user(admin=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, user)
    menu = page.locator(".menu-button")
    links = page.locator("#site-menu nav")
    expect(menu).to_be_visible()
    expect(links).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(links).to_be_visible()
    sign_out = page.locator("#site-menu button:has-text('Sign out')")
    expect(sign_out).to_be_in_viewport()
    # White on the dark bar, not on the light page.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor"
                         ) == "rgb(28, 36, 48)"
    page.keyboard.press("Escape")
    expect(links).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    page.click("#site-menu a:has-text('Projects')")
    expect(page.locator("h1")).to_contain_text("projects")
    expect(links).to_be_hidden()  # a new page starts with the menu folded
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(menu).to_be_hidden()
    expect(links).to_be_visible()
    context.close()
    watch.assert_clean()


def test_on_a_phone_the_jobs_start_high_on_the_home_page(browser, server, live_db):
    user = make_user()
    for _ in range(3):
        make_job(user, task="countdown", status="finished", progress=100, result={"steps": 1})
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, server, user)
    top = page.evaluate("document.querySelector('#job-list').getBoundingClientRect().top")
    assert top < 844, f"the job list starts {top:.0f} px down, below the first screen"
    context.close()


def _background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_dark_mode_follows_the_system_and_a_chosen_theme_sticks(browser, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server}/login")
    assert _background(page) == DARK_BG  # no choice yet: the system's
    page.emulate_media(color_scheme="light")
    assert _background(page) == LIGHT_BG
    sign_in(page, server, user)
    page.click(".theme-switch button:has-text('Dark')")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background(page) == DARK_BG  # chosen: dark although the system says light
    expect(page.locator(".theme-switch button:has-text('Dark')")).to_have_attribute(
        "aria-pressed", "true")
    page.click("nav a:has-text('Projects')")
    assert _background(page) == DARK_BG
    second = context.new_page()  # a new tab, same browser: still dark
    second.goto(f"{server}/settings/sessions")
    assert _background(second) == DARK_BG
    second.close()
    page.click(".theme-switch button:has-text('Auto')")
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    assert _background(page) == LIGHT_BG
    assert page.url.endswith("/projects")  # back on the page it was chosen on
    context.close()
    watch.assert_clean()


def test_home_counts_new_cards_and_announcements_are_live(browser, server, worker, live_db):
    from playwright.sync_api import expect

    user = make_user(max_running_jobs=5)
    make_job(user, task="countdown", status="finished", progress=100, result={"steps": 1})
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, user)
    counts = page.locator("#job-counts")
    expect(counts).to_have_text("1 in all")
    page.click(".test-tasks summary")
    form = page.locator("#launch-countdown")
    form.locator("[name=steps]").fill("2")
    form.locator("button[type=submit]").click()
    first = page.locator("#job-list > .job-card").first
    expect(first.locator(".job-title")).to_have_text("Countdown")
    expect(first).not_to_have_attribute("data-status", "finished")
    expect(first).to_be_in_viewport()  # scrolled up from the test tasks below the list
    expect(counts).to_have_text("2 in all · 1 active")
    expect(first).to_have_attribute("data-status", "finished", timeout=30_000)
    expect(counts).to_have_text("2 in all")
    expect(page.locator("#announcer")).to_have_text("Countdown: Finished")
    first.locator("button:has-text('Delete')").click()
    expect(page.locator("#job-list > .job-card")).to_have_count(1)
    expect(counts).to_have_text("1 in all")
    context.close()
    watch.assert_clean()
