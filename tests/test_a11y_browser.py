"""Accessibility in a real Chromium: axe-core finds no serious or critical violation on any
page, as a user and as an admin, on a phone and a desktop, in light and dark; start, stop
and retry work from the keyboard alone, with a visible focus; and a card's change of status
is announced through a polite live region.

axe-core comes from npm (tests/axe, installed by `make test`) and is loaded into each page
through the DevTools protocol, under the app's own Content-Security-Policy.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser import Watch, axe_violations, sign_in
from tests.support import make_job, make_token, make_user
from webapp import audit
from webapp.extensions import db
from webapp.projects.service import create_project
from webapp.render.outputs import ASSEMBLE_VIDEO, NARRATE, RENDER_SCENES

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
SCHEMES = ("light", "dark")
BACKGROUNDS = {"light": "rgb(246, 247, 249)", "dark": "rgb(15, 19, 24)"}  # app.css --bg
SCRIPT = [{"heading": "Moons", "narration": "Jupiter has dozens of moons."},
          {"heading": "Rings", "narration": "Saturn's rings are mostly ice."}]


def _jobs(user) -> dict[str, str]:
    """A card in each state the home page shows; the ids of the job pages to visit."""
    now = datetime.now(UTC)
    ago = now - timedelta(minutes=3)
    finished = make_job(user, status="finished", progress=100, result={"steps": 3},
                        params={"steps": 3}, started_at=ago, ended_at=now)
    failed = make_job(user, task="trigger_test", status="failed", error="boom", attempt=1,
                      params={"message": "hi"}, started_at=ago, ended_at=now)
    make_job(user, status="stopped", progress=40, cancel_requested_at=now, started_at=ago,
             ended_at=now)
    make_job(user, status="canceled", ended_at=now)
    make_job(user, status="started", progress=60, stage="Step 3 of 5", started_at=ago)
    make_job(user, status="queued")
    return {"finished": str(finished.id), "failed": str(failed.id)}


def _project(user) -> int:
    """A project with a script and a render that failed on its second stage."""
    project = create_project(user, {"title": "Planets", "script": SCRIPT})
    db.session.commit()
    pipeline = uuid.uuid4()
    for step, (task, status) in enumerate([(NARRATE, "finished"), (RENDER_SCENES, "failed"),
                                           (ASSEMBLE_VIDEO, "canceled")]):
        make_job(user, task=task, status=status, params={"project_id": project.id},
                 project_id=project.id, pipeline_id=pipeline, pipeline_step=step,
                 error="ffmpeg exited with status 1" if status == "failed" else None)
    return project.id


def _pages(jobs: dict[str, str], project_id: int, admin: bool) -> list[str]:
    """The signed-in pages to check."""
    pages = ["/", f"/jobs/{jobs['finished']}", f"/jobs/{jobs['failed']}", "/jobs",
             "/jobs?status=failed", "/projects",
             f"/projects/{project_id}", "/settings/sessions", "/settings/password",
             "/settings/tokens", "/no-such-page"]
    if admin:
        # rq-dashboard's pages (/rq) are left out: third-party markup we do not control.
        pages += ["/admin/users", "/admin/audit", "/console/queues", "/console/workers"]
    return pages


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_every_page_has_no_serious_axe_violation(browser, server, viewport):
    """Each page is loaded once and checked in each colour scheme (the page restyles itself
    when the scheme changes, as when the system's does)."""
    user = make_user(max_running_jobs=10)
    admin = make_user(admin=True)
    jobs = _jobs(user)
    project_id = _project(user)
    make_token(user, "render-bot")
    audit.admin_action(admin, "job.cancel", "job", jobs["finished"], user.id, reason="test")
    db.session.commit()

    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    watch = Watch(page)  # also shows that loading axe trips no CSP violation
    watch.allow(404, "/no-such-page")
    watch.allow(401, "/login")
    found: dict[str, list[str]] = {}  # violation -> the pages (and schemes) it is on

    def check(label: str) -> None:
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == BACKGROUNDS[scheme], (label, scheme, background)
            for line in axe_violations(page):
                found.setdefault(line, []).append(f"{label} ({scheme})")

    try:
        page.goto(f"{server}/login")
        check("signed out /login")
        page.fill("input[name=email]", user.email)
        page.fill("input[name=password]", "not the password")
        page.click("button:has-text('Sign in')")
        page.locator("#sign-in-error").wait_for()
        # The error shows as soon as the answer's HTML is parsed; its scripts still load,
        # and the next goto would abort them (a failed request to the watch).
        page.wait_for_load_state("load")
        check("/login, wrong password")
        for account, is_admin in ((user, False), (admin, True)):
            context.clear_cookies()
            sign_in(page, server, account)
            for path in _pages(jobs, project_id, is_admin):
                page.goto(f"{server}{path}")
                check(f"{'admin' if is_admin else 'user'} {path}")
    finally:
        context.close()
    report = [f"{line}\n    on {', '.join(labels)}" for line, labels in found.items()]
    report += [f"the browser reported: {problem}" for problem in watch.problems]
    assert not report, (f"{len(found)} serious or critical axe-core violations ({viewport}):\n"
                        + "\n".join(report))


# Keyboard only ---------------------------------------------------------------------------

DESCRIBE_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "(body)";
  const text = (el.innerText || el.value || "").trim().slice(0, 30);
  const card = el.closest(".job-card, form[id]");
  return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}`
    + `${el.name ? "[name=" + el.name + "]" : ""}${text ? ` "${text}"` : ""}`
    + `${card ? " in #" + card.id : ""}`;
}"""
FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
          boxShadow: style.boxShadow, visible: outline || style.boxShadow !== "none"};
}"""


def tab_to(page, predicate_js: str, limit: int = 200, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until `predicate_js`, a JS function of the focused element,
    is true; fail with everything that had the focus on the way."""
    visited: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"() => Boolean(({predicate_js})(document.activeElement))"):
            return
        visited.append(page.evaluate(DESCRIBE_FOCUS))
    raise AssertionError(f"{limit} presses of {key} never reached {predicate_js}; focus went "
                         f"to:\n" + "\n".join(visited))


def assert_focus_visible(page, what: str) -> None:
    """The focused element shows it: an outline or a box shadow."""
    ring = page.evaluate(FOCUS_RING)
    assert ring["visible"], f"no visible focus on {what}: {ring}"


def _card_control(job_id: str, label: str) -> str:
    return (f"(el) => el.tagName === 'BUTTON' && el.closest('#job-{job_id}') !== null"
            f" && el.textContent.trim() === '{label}'")


def test_start_stop_and_retry_from_the_keyboard_alone(browser, server, worker):
    from playwright.sync_api import expect

    user = make_user(max_running_jobs=10)
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        sign_in(page, server, user)
        page.goto(f"{server}/")
        # From here on only the keyboard: open the test tasks, then the Countdown form.
        tab_to(page, "(el) => el.tagName === 'SUMMARY' && el.closest('.test-tasks') !== null")
        assert_focus_visible(page, "the test tasks' summary")
        page.keyboard.press("Enter")
        tab_to(page, "(el) => el.closest('#launch-countdown') !== null && el.name === 'steps'")
        assert_focus_visible(page, "the steps field")
        page.keyboard.press("Control+A")
        page.keyboard.type("120")
        tab_to(page, "(el) => el.closest('#launch-countdown') !== null && el.type === 'submit'")
        assert_focus_visible(page, "the Start button")
        page.keyboard.press("Enter")

        card = page.locator("#job-list .job-card").first
        expect(card).to_have_attribute("data-status", "started", timeout=30_000)
        job_id = card.get_attribute("id").removeprefix("job-")
        card = page.locator(f"#job-{job_id}")

        tab_to(page, _card_control(job_id, "Stop"))
        assert_focus_visible(page, "the Stop button")
        # A poll replaces the running card whenever it changed (every 2 s for a countdown):
        # the focus must stay on Stop through it.
        page.evaluate(f"() => {{ window.cardBefore = document.getElementById('job-{job_id}'); }}")
        page.wait_for_function("() => !document.body.contains(window.cardBefore)",
                               timeout=10_000)
        still = page.evaluate(f"() => Boolean(({_card_control(job_id, 'Stop')})"
                              "(document.activeElement))")
        assert still, f"a poll of the card took the focus to {page.evaluate(DESCRIBE_FOCUS)}"
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-status", re.compile("^(stopped|canceled)$"),
                                       timeout=30_000)

        # The card was replaced, and the focus with it: Tab on (round the page if need be).
        tab_to(page, _card_control(job_id, "Retry"))
        assert_focus_visible(page, "the Retry button")
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-status", re.compile("^(queued|started)$"),
                                       timeout=30_000)
    finally:
        context.close()


# Live announcements ----------------------------------------------------------------------

def test_a_card_that_changes_status_is_announced_politely(browser, server, worker):
    """base.html carries one persistent, visually hidden polite live region (#announcer);
    when a polled card's status changes, the page's script writes "<task>: <status>" there
    (cards themselves are replaced on every poll, so they cannot be live regions)."""
    from playwright.sync_api import expect

    user = make_user(max_running_jobs=10)
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        sign_in(page, server, user)
        page.goto(f"{server}/")
        announcer = page.locator("#announcer")
        expect(announcer).to_have_attribute("aria-live", "polite")
        shown = announcer.evaluate("(el) => { const s = getComputedStyle(el);"
                                   " return s.display !== 'none' && s.visibility !== 'hidden'"
                                   " && !el.closest('[aria-hidden=true]'); }")
        assert shown, "#announcer is hidden from assistive technology, not just visually"

        page.click(".test-tasks summary")
        form = page.locator("#launch-countdown")
        form.locator("[name=steps]").fill("2")
        form.locator("button[type=submit]").click()
        card = page.locator("#job-list .job-card").first
        expect(card).to_have_attribute("data-status", "finished", timeout=30_000)
        expect(announcer).to_contain_text(re.compile(r"Countdown\W+Finished"), timeout=10_000)
        # Still the same element: a region that is replaced is not announced.
        assert page.evaluate("document.querySelectorAll('#announcer').length") == 1
    finally:
        context.close()

