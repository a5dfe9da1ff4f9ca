"""The browser pass: a real Chromium visits every page and runs the main flows as a user and
as an admin, and fails on anything the browser reports (tests/browser.py `Watch`): a
console error or warning, a script error, a Content-Security-Policy violation, a failed
request or an error response the flow did not mean to get.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import Watch, open_test_tasks, sign_in
from tests.support import PASSWORD, make_job, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCRIPT = "Moons\nJupiter has dozens of moons.\n\nRings\nSaturn's rings are mostly ice."


@pytest.fixture
def page(browser):
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _card(page, title: str):
    return page.locator("#job-list .job-card", has=page.locator(f".job-title:text-is('{title}')"))


def _status(card, *statuses: str, timeout: float = 30_000) -> None:
    from playwright.sync_api import expect

    expect(card).to_have_attribute("data-status", re.compile(f"^({'|'.join(statuses)})$"),
                                   timeout=timeout)


def _launch(page, task: str, **fields: str) -> None:
    open_test_tasks(page)
    form = page.locator(f"#launch-{task}")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def _resize(page, selector: str) -> None:
    """Drag a text box's corner, as someone who wants more room does (Chromium then gives
    it an inline style)."""
    box = page.locator(selector).bounding_box()
    corner = (box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)
    page.mouse.move(*corner)
    page.mouse.down()
    page.mouse.move(corner[0], corner[1] + 60, steps=4)
    page.mouse.up()


def _job_flows(page, watch: Watch, server: str) -> None:
    """Launch (with a resized message box), watch a countdown finish, stop one, retry it,
    cancel and delete it, and a launch with a bad value."""
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    _resize(page, "#launch-trigger-test textarea")
    _launch(page, "trigger-test", message="hello from the pass")
    _status(_card(page, "Trigger test").first, "finished")

    _launch(page, "countdown", steps="2")
    finished = _card(page, "Countdown").first
    _status(finished, "started", "finished")
    _status(finished, "finished")
    expect(finished.locator(".pct")).to_have_text("100%")

    _launch(page, "countdown", steps="120")
    long = _card(page, "Countdown").first
    _status(long, "started")
    long.locator("button:has-text('Stop')").click()
    _status(long, "stopped", "canceled")
    long.locator("button:has-text('Retry')").click()
    _status(long, "queued", "started")
    long.locator("button:has-text('Stop'), button:has-text('Cancel')").click()
    _status(long, "stopped", "canceled")
    job_id = long.get_attribute("id").removeprefix("job-")
    long.locator("button:has-text('Delete')").click()
    expect(page.locator(f"#job-{job_id}")).to_have_count(0)

    watch.allow(422, "/jobs")
    _launch(page, "countdown", steps="9999")
    expect(page.locator("#launch-countdown .field.has-error")).to_be_visible()


def _project_flows(page, server: str) -> None:
    """Create a project from a script, render it and watch the video arrive."""
    from playwright.sync_api import expect

    page.click("nav a:has-text('Projects')")
    expect(page.locator("#new h2")).to_have_text("New project")
    page.fill("#new input[name=title]", "Planets")
    page.fill("textarea[name=script_text]", SCRIPT)
    page.click("button:has-text('Create project')")
    expect(page.locator("h1")).to_have_text("Planets")
    page.click("button:has-text('Render video')")
    expect(page.locator("#output video")).to_be_visible(timeout=90_000)
    page.click("a:has-text('All projects')")
    expect(page.locator(".project-tile")).to_have_count(1)
    page.click(".project-tile")
    expect(page.locator("h1")).to_have_text("Planets")


def _pages(page, watch: Watch, server: str, user, admin: bool) -> None:
    """Every page a signed-in user (and an admin) reaches, through its links."""
    from playwright.sync_api import expect

    page.click("nav a:has-text('Home')")
    page.locator("#job-list .job-card a.details").first.click()
    expect(page.locator("#job-detail")).to_be_visible()
    page.click("nav a:has-text('Settings')")
    expect(page.locator("h1")).to_have_text("Sessions")
    page.click(".subnav a:has-text('Password')")
    expect(page.locator("h1")).to_have_text("Password")
    page.click(".subnav a:has-text('API tokens')")
    page.fill("input[name=name]", "pass")
    page.click("button:has-text('Create token')")
    expect(page.locator("main")).to_contain_text("pass")
    if admin:
        page.click("nav a:has-text('Users')")
        expect(page.locator("h1")).to_contain_text("Users")
        page.click("nav a:has-text('Audit')")
        expect(page.locator("h1")).to_contain_text("Audit")
        page.click("#site-menu nav a:has-text('Console')")
        expect(page.locator("h1")).to_contain_text("Queues")
        for section, heading in (("Workers", "Workers"), ("Metrics", "Metrics"),
                                 ("Consistency", "Consistency")):
            page.click(f".subnav a:has-text('{section}')")
            expect(page.locator("h1")).to_contain_text(heading)
        page.click(".subnav a:has-text('rq-dashboard')")
        for view in ("queues", "workers", "jobs"):
            page.wait_for_load_state("networkidle")  # its scripts loaded and polling
            page.goto(f"{server}/rq/0/view/{view}")
        page.wait_for_load_state("networkidle")
    watch.allow(404, "/no-such-page")
    page.goto(f"{server}/no-such-page")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{server}/")
    page.click("button:has-text('Sign out')")
    watch.allow(401, "/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "not the password")
    page.click("button:has-text('Sign in')")
    expect(page.locator("main [role=alert]")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
def test_every_page_and_flow_leaves_the_browser_console_clean(page, server, worker, admin):
    user = make_user(admin=admin, max_running_jobs=10)
    if admin:  # someone else's job, so the admin's pages show its owner
        make_job(make_user(), status="failed", error="boom", attempt=1)
    watch = Watch(page)
    sign_in(page, server, user)
    _job_flows(page, watch, server)
    _project_flows(page, server)
    _pages(page, watch, server, user, admin)
    watch.assert_clean()
