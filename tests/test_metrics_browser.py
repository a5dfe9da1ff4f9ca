"""The metrics page in a real Chromium: its SVG charts pass the app's CSP (no inline style
anywhere), read in light and dark, fit a phone, and the window switch works."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser import AXE_SCRIPT, Watch, assert_accessible, sign_in
from tests.support import make_user
from webapp.extensions import db
from webapp.models import BackgroundJob

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# static/app.css tokens in each theme: --fg (chart text), --ok (finished bars).
COLOURS = {"light": ("rgb(28, 36, 48)", "rgb(43, 122, 59)"),
           "dark": ("rgb(230, 233, 238)", "rgb(105, 219, 124)")}


@pytest.fixture
def admin(live_db):
    """An admin, and jobs that ended over the last days (long names among them)."""
    user = make_user(admin=True)
    now = datetime.now(UTC)
    tasks = ("countdown", "narrate", "assemble-video", "a-task-with-a-long-unbroken-name-x" * 2)
    for i in range(60):
        end = now - timedelta(minutes=7 * i)
        start = end - timedelta(seconds=1 + i % 13)
        db.session.add(BackgroundJob(
            task=tasks[i % 4][:64], queue="video" if i % 4 in (1, 2) else "default",
            status="failed" if i % 9 == 0 else "finished", params={}, user_id=user.id,
            created_at=start - timedelta(seconds=i % 5), enqueued_at=start - timedelta(
                seconds=i % 5), started_at=start, ended_at=end))
    db.session.commit()
    return user


def _chart_colours(page) -> tuple[str, str]:
    return tuple(page.evaluate("""() => {
        const svg = document.querySelector("svg.chart");
        return [getComputedStyle(svg.querySelector("text")).fill,
                getComputedStyle(svg.querySelector("rect.chart-finished")).fill];
    }"""))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_charts_pass_the_csp_and_read_in_both_themes(browser, server, admin, scheme):
    from playwright.sync_api import expect

    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, admin)
    for window in ("1h", "24h", "7d"):
        page.goto(f"{server}/console/metrics?window={window}")
        expect(page.locator("svg.chart")).to_have_count(8)
        assert page.evaluate("document.querySelectorAll('[style]').length") == 0
        assert page.locator("svg.chart rect.chart-finished").count() > 0
        assert _chart_colours(page) == COLOURS[scheme]
        if AXE_SCRIPT.exists():
            assert_accessible(page, f"/console/metrics?window={window} ({scheme})")
    context.close()
    watch.assert_clean()


@pytest.mark.parametrize("width", [320, 390])
def test_the_page_fits_a_phone_and_switches_windows(browser, server, admin, width):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, admin)
    page.goto(f"{server}/console/metrics")
    expect(page.locator(".window-switch a[aria-current=page]")).to_have_text("24 hours")
    page.click(".window-switch a:has-text('7 days')")
    expect(page.locator(".window-switch a[aria-current=page]")).to_have_text("7 days")
    assert page.url.endswith("/console/metrics?window=7d")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px wider than a {width} px screen"
    box = page.locator("svg.chart").first.bounding_box()
    assert 0 < box["width"] <= width
    context.close()
    watch.assert_clean()
