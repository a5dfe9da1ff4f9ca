"""The consistency panel: the reconciler's pass history, disagreements after a pass and by
"check now", the admins' banner on every page (and when PostgreSQL or Redis fail), the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from jinja2 import ChoiceLoader, DictLoader
from rq.job import Job, JobStatus
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from tests.support import close_app, login, make_job, make_token, make_user
from webapp import create_app
from webapp.config import ROOT
from webapp.consistency import service
from webapp.consistency.chart import bar_chart
from webapp.extensions import db
from webapp.jobs import history, pending_outcomes, reconcile
from webapp.models import ReconcilerPass

BANNER_LINE = '{% include "_consistency_banner.html" %}'
MAIN = '<main id="main">'
PANEL = "/console/consistency"


def _base_with_banner() -> str:
    """base.html with the banner's include line where the README says to add it (as is, once
    the line is there)."""
    source = (ROOT / "templates" / "base.html").read_text()
    if BANNER_LINE in source:
        return source
    assert MAIN in source, "base.html changed: put the banner's include first in <main>"
    return source.replace(MAIN, f"{MAIN}\n    {BANNER_LINE}", 1)


def _banner_app(**config):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, **config})
    app.jinja_env.loader = ChoiceLoader([DictLoader({"base.html": _base_with_banner()}),
                                         app.jinja_env.loader])
    return app


@pytest.fixture(scope="module")
def banner_app(app):
    banner = _banner_app()
    yield banner
    close_app(banner)


@pytest.fixture
def settled(monkeypatch):
    """No wait before a finding is confirmed (the test changes nothing meanwhile)."""
    monkeypatch.setattr(history, "SETTLE_SECONDS", 0)


@pytest.fixture
def admin(db_session):
    return make_user(admin=True)


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


def _lost(user):
    """A row RQ knows nothing of, too young for the reconciler to repair: it disagrees."""
    return make_job(user, status="queued")


def _rq_job_for(row, redis, status=JobStatus.QUEUED):
    Job.create(print, id=str(row.id), connection=redis, origin="default", status=status).save()


def _newest() -> ReconcilerPass:
    return db.session.scalars(select(ReconcilerPass).order_by(ReconcilerPass.id.desc())).first()


def test_a_pass_records_its_row_with_repairs_by_kind(app, user, redis, settled, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVER_AFTER", 0.0)
    make_job(user, status="created", params={"steps": 2})
    before = datetime.now(UTC)
    reconcile.Pass().run()
    row = _newest()
    assert (row.manual, row.broke_off, row.repairs) == (False, None, {"created_enqueued": 1})
    assert (row.disagreements, row.problems, row.sample) == (0, {}, [])
    assert row.started_at <= row.ended_at and row.ended_at >= before
    redis.flushdb()  # the history is in PostgreSQL: a Redis restart loses none of it
    assert service.repairs_since(before - timedelta(hours=1)) == {"created_enqueued": 1}
    reconcile.Pass().run()  # the flush lost the RQ job: this pass puts it back
    assert _newest().repairs == {"lost_requeued": 1} and _newest().id != row.id
    reconcile.Pass().run()  # nothing to repair: a row all the same, the last pass's time
    assert _newest().repairs == {} and _newest().disagreements == 0


def test_repairs_in_24_hours_add_up_passes_by_kind_and_leave_out_older_ones(app, db_session):
    now = datetime.now(UTC)
    for hours, repairs in ((1, {"lost_requeued": 2, "pruned": 9}), (2, {"lost_requeued": 1,
                           "created_enqueued": 4}), (3, {}), (30, {"lost_requeued": 100})):
        at = now - timedelta(hours=hours)
        db.session.add(ReconcilerPass(started_at=at, ended_at=at, repairs=repairs))
    db.session.commit()
    panel = service.panel()
    assert panel.repairs == {"created_enqueued": 4, "lost_requeued": 3}
    assert panel.housekeeping == {"pruned": 9} and panel.total_repairs == 7


def test_history_older_than_30_days_is_pruned_by_the_reconciler(app, db_session, settled):
    old = datetime.now(UTC) - timedelta(days=history.HISTORY_DAYS + 1)
    db.session.add(ReconcilerPass(started_at=old, ended_at=old, repairs={"x": 1}))
    db.session.commit()
    reconcile.Pass().run()
    assert [r.ended_at > old for r in db.session.scalars(select(ReconcilerPass))] == [True]


def test_the_panel_counts_rows_made_to_disagree_after_a_pass(admin_client, admin, redis,
                                                              settled):
    lost = _lost(admin)
    running = make_job(admin, status="started", worker_name="w1",
                       heartbeat_at=datetime.now(UTC))  # its RQ job is gone
    differs = make_job(admin, status="queued")
    _rq_job_for(differs, redis, JobStatus.STARTED)
    reconcile.Pass().run()
    row = _newest()
    assert row.disagreements == 3 and row.problems == {"lost": 2, "statuses_differ": 1}
    html = admin_client.get(PANEL).get_data(as_text=True)
    assert re.search(r'<p class="number number-bad">3</p>', html)
    for job in (lost, running, differs):
        assert f'href="/jobs/{job.id}"' in html
    body = admin_client.get("/api/v1/consistency").get_json()
    assert body["disagreements"]["count"] == 3
    assert body["disagreements"]["by_kind"] == {"lost": 2, "statuses_differ": 1}
    assert {j["job_id"] for j in body["disagreements"]["jobs"]} == {
        str(lost.id), str(running.id), str(differs.id)}


def test_a_disagreement_that_resolves_within_the_settling_time_is_not_counted(
        app, user, redis, monkeypatch):
    racing = _lost(user)  # its worker's enqueue is on its way
    monkeypatch.setattr(history, "time", SimpleNamespace(sleep=lambda _: _rq_job_for(
        racing, redis)))
    assert history.check(redis)["disagreements"] == 0
    stays = _lost(user)
    monkeypatch.setattr(history, "time", SimpleNamespace(sleep=lambda _: None))
    found = history.check(redis)
    assert found["disagreements"] == 1 and found["sample"][0]["job_id"] == str(stays.id)


def test_check_now_counts_a_disagreement_without_a_pass(admin_client, admin, redis, settled):
    lost = _lost(admin)
    response = admin_client.post(f"{PANEL}/check")
    assert response.status_code == 303 and response.headers["Location"] == PANEL
    row = _newest()
    assert row.manual and row.disagreements == 1 and row.repairs == {}
    html = admin_client.get(PANEL).get_data(as_text=True)
    assert "Checked just now: 1 disagreement(s)." in html
    assert "Checked by an admin" in html and f'href="/jobs/{lost.id}"' in html
    assert '<p class="number number-bad">Never</p>' in html  # a check is not a pass
    _rq_job_for(lost, redis)
    admin_client.post(f"{PANEL}/check")
    assert _newest().disagreements == 0
    api = admin_client.get("/api/v1/consistency").get_json()
    assert api["disagreements"]["count"] == 0 and api["disagreements"]["manual"] is True
    assert api["reconciler"]["last_pass_ended_at"] is None and api["reconciler"]["stale"]


def test_a_check_that_cannot_reach_redis_is_recorded_as_failed(app, db_session, monkeypatch):
    from redis import Redis

    found = history.check(Redis.from_url("redis://127.0.0.1:1/0"))
    assert found["disagreements"] is None and "ConnectionError" in found["check_error"]


def _banner(html: str) -> str | None:
    match = re.search(r'<p class="consistency-banner".*?</p>', html, re.S)
    return match[0] if match else None


def test_the_banner_shows_admins_what_is_wrong_on_every_page_until_it_is_fixed(
        banner_app, db_session, redis, settled):
    admin, user = make_user(admin=True), make_user()
    admin_browser, user_browser = banner_app.test_client(), banner_app.test_client()
    login(admin_browser, admin)
    login(user_browser, user)
    lost = _lost(user)
    reconcile.Pass().run()
    for page in ("/", "/projects"):
        banner = _banner(admin_browser.get(page).get_data(as_text=True))
        assert banner and "1 row disagrees with RQ" in banner, page
        assert 'href="/console/consistency"' in banner
        assert _banner(user_browser.get(page).get_data(as_text=True)) is None
    _rq_job_for(lost, redis)
    pending_outcomes.push("started", str(lost.id), ["w9"])
    assert "1 outcome waits in Redis for PostgreSQL" in _banner(
        admin_browser.get("/projects").get_data(as_text=True))
    reconcile.Pass().run()  # applies the outcome; the row is started, RQ says queued
    _rq_job_for(lost, redis, JobStatus.STARTED)
    history.record(redis, datetime.now(UTC), {})
    db.session.commit()
    assert _banner(admin_browser.get("/").get_data(as_text=True)) is None
    stale = datetime.now(UTC) - timedelta(seconds=banner_app.config["RECONCILE_INTERVAL"] * 4)
    db.session.execute(update(ReconcilerPass).values(ended_at=stale))
    db.session.commit()
    assert "the reconciler last ran 2 min ago" in _banner(
        admin_browser.get("/").get_data(as_text=True))


def test_the_banner_says_the_reconciler_never_ran(banner_app, db_session):
    browser = banner_app.test_client()
    login(browser, make_user(admin=True))
    assert "the reconciler has never run" in _banner(browser.get("/").get_data(as_text=True))


def test_the_banner_survives_redis_down_without_failing_the_page(banner_app, db_session):
    admin = make_user(admin=True)
    good = banner_app.test_client()
    login(good, admin)
    broken_app = _banner_app(REDIS_URL="redis://127.0.0.1:1/0")
    try:
        broken = broken_app.test_client()
        broken.set_cookie("session", good.get_cookie("session").value)
        response = broken.get("/projects")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        banner = _banner(response.get_data(as_text=True))
        assert "the outcome backlog cannot be read (Redis does not answer)" in banner
        panel = broken.get(PANEL)
        assert panel.status_code == 200 and "Redis does not answer." in panel.get_data(
            as_text=True)
        assert broken.get("/api/v1/consistency").get_json()["outcome_backlog"] is None
    finally:
        close_app(broken_app)


def test_the_banner_survives_postgres_failing_its_query(banner_app, db_session, monkeypatch):
    browser = banner_app.test_client()
    login(browser, make_user(admin=True))

    def fails(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(service, "newest", fails)
    response = browser.get("/projects")
    assert response.status_code == 200
    assert "the consistency check itself failed" in _banner(response.get_data(as_text=True))


def test_the_panel_and_api_are_for_admins_only(client, user, db_session):
    assert client.get("/api/v1/consistency").status_code == 401
    bearer = {"Authorization": f"Bearer {make_token(user)}"}
    refused = client.get("/api/v1/consistency", headers=bearer)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    login(client, user)
    assert client.get(PANEL).status_code == 403
    assert client.post(f"{PANEL}/check").status_code == 403


def test_the_api_answers_the_panels_numbers(client, admin, db_session):
    at = datetime.now(UTC) - timedelta(seconds=5)
    db.session.add(ReconcilerPass(started_at=at - timedelta(seconds=2), ended_at=at,
                                  repairs={"lost_failed": 2}, disagreements=0))
    db.session.commit()
    body = client.get("/api/v1/consistency",
                      headers={"Authorization": f"Bearer {make_token(admin)}"}).get_json()
    assert body["disagreements"] == {"count": 0, "by_kind": {}, "jobs": [],
                                     "checked_at": at.isoformat(), "manual": False,
                                     "error": None}
    assert body["repairs"]["by_kind"] == {"lost_failed": 2} and body["repairs"]["total"] == 2
    assert body["outcome_backlog"] == 0 and body["warning"] is False
    reconciler = body["reconciler"]
    assert reconciler["stale"] is False and 4 < reconciler["age_seconds"] < 60
    assert reconciler["stale_after_seconds"] == 3 * reconciler["interval_seconds"]


def test_the_repairs_chart_is_an_accessible_svg_without_inline_styles(admin_client, db_session):
    at = datetime.now(UTC)
    db.session.add(ReconcilerPass(started_at=at, ended_at=at,
                                  repairs={"lost_requeued": 3, "created_enqueued": 12}))
    db.session.commit()
    html = admin_client.get(PANEL).get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S)[0]
    assert 'role="img"' in svg and "style=" not in svg
    assert ('aria-label="Repairs in the last 24 hours by kind: created_enqueued 12, '
            'lost_requeued 3."') in svg
    assert re.findall(r"<title>(.*?)</title>", svg) == ["created_enqueued: 12",
                                                         "lost_requeued: 3"]
    assert 'class="chart-bar"' in svg


def test_bar_widths_are_proportional_and_a_small_count_still_shows():
    chart = bar_chart({"a": 1000, "b": 1, "zero": 0})
    assert [b.label for b in chart.bars] == ["a", "b"]
    assert chart.bars[0].width == chart.width - 64 and chart.bars[1].width == 2
    assert bar_chart({}) is None
