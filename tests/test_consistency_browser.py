"""The consistency panel and the admins' banner in a real Chromium, as production serves
them (CSRF and CSP on, base.html with the banner's include line): they fit a 320 px and a
390 px screen, axe finds nothing serious in light or dark, and "check now" works."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from tests.browser import Watch, axe_violations, sign_in
from tests.support import close_app, make_job, make_user
from tests.test_consistency import _banner_app
from webapp.extensions import db
from webapp.jobs import pending_outcomes
from webapp.models import ReconcilerPass

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

KINDS = ("created_enqueued", "lost_requeued", "rq_outcome_applied", "abandoned_failed",
         "stop_settled", "scratch_swept")
SHOTS = os.environ.get("CUTROOM_SHOTS")  # a folder: also save screenshots there


@pytest.fixture
def banner_server(app, live_db):
    """The app with CSRF and CSP on, and the banner included, over real HTTP."""
    served = _banner_app(WTF_CSRF_ENABLED=True)
    httpd = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)
    close_app(served)


def _history(user) -> None:
    """A day of passes with repairs of every kind, the newest one stale, which found 60
    disagreements (50 listed, some without a row); and an outcome waiting in Redis."""
    now = datetime.now(UTC)
    for hour in range(0, 24, 3):
        at = now - timedelta(hours=hour, minutes=10)
        db.session.add(ReconcilerPass(started_at=at, ended_at=at, repairs={
            kind: (index + 1) * (hour + 1) for index, kind in enumerate(KINDS)}))
    rows = [make_job(user, status="queued") for _ in range(3)]
    sample = [{"job_id": str(r.id), "row_status": "queued", "rq_status": None, "kind": "lost"}
              for r in rows]
    sample += [{"job_id": f"rq-job-{uuid.uuid4().hex}{uuid.uuid4().hex}", "row_status": None,
                "rq_status": None, "kind": "no_row"} for _ in range(47)]
    db.session.add(ReconcilerPass(started_at=now - timedelta(minutes=9),
                                  ended_at=now - timedelta(minutes=9), disagreements=60,
                                  problems={"lost": 13, "no_row": 47}, sample=sample,
                                  broke_off="recover_lost"))
    db.session.commit()
    pending_outcomes.push("started", str(rows[0].id), ["w1"])


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("scheme", ("light", "dark"))
def test_the_panel_fits_a_phone_reads_well_and_checks_now(browser, banner_server, scheme):
    admin = make_user(admin=True)
    _history(admin)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.emulate_media(color_scheme=scheme)
    watch = Watch(page)
    problems = []
    try:
        sign_in(page, banner_server, admin)
        for width in (320, 390, 1440):
            page.set_viewport_size({"width": width, "height": 844})
            for path in ("/console/consistency", "/projects"):
                page.goto(f"{banner_server}{path}")
                said = page.locator(".warning" if "console" in path else ".consistency-banner")
                assert "60 rows disagree with RQ" in said.inner_text()
                if (extra := _overflow(page)) > 0:
                    problems.append(f"{path} at {width} px: {extra} px too wide")
                problems += [f"{path} at {width} px: {v}" for v in axe_violations(page)]
                if SHOTS:
                    page.screenshot(path=f"{SHOTS}/{path.strip('/').replace('/', '-')}-"
                                         f"{width}-{scheme}.png", full_page=True)
        page.goto(f"{banner_server}/console/consistency")
        assert page.locator("svg.chart title").count() == len(KINDS)
        page.click("button:has-text('Check now')")
        page.locator(".flash").wait_for()
        assert "Checked just now: 3 disagreement(s)." in page.locator(".flash").inner_text()
    finally:
        context.close()
    assert not problems, "\n".join(problems)
    watch.assert_clean()
