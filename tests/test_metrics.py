"""Metrics: the numbers of known rows in each window, by task, queue and render stage; the
hourly rollup agreeing with the rows; the API's shape and refusals; the page's SVG."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.support import make_token, make_user
from webapp import histogram
from webapp.extensions import db
from webapp.jobs import rollup
from webapp.metrics.queries import WINDOWS, metrics, to_dict
from webapp.models import BackgroundJob
from webapp.render.outputs import STAGES

NOW = datetime(2026, 12, 1, 12, 30, 30, tzinfo=UTC)


def ended(user, task: str, queue: str, status: str, end: datetime, wait: float | None,
          run: float | None) -> BackgroundJob:
    """A job that ended at `end` after waiting `wait` and running `run` seconds."""
    started = end - timedelta(seconds=run) if run is not None else None
    enqueued = (started if started else end) - timedelta(seconds=wait or 0)
    job = BackgroundJob(task=task, queue=queue, status=status, params={}, user_id=user.id,
                        created_at=enqueued, enqueued_at=enqueued, started_at=started,
                        ended_at=end)
    db.session.add(job)
    db.session.commit()
    return job


def near(estimate: float | None, exact: float) -> bool:
    """Within the documented estimation error of the histograms."""
    return estimate is not None and exact / histogram.RATIO <= estimate <= exact * histogram.RATIO


def rounded(value):
    """JSON numbers rounded (sums added in another order differ in the last digits)."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 6) if isinstance(value, float) else value


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@pytest.fixture
def rows(db_session, user):
    """Known jobs around NOW: in the last hour, earlier today, days ago, and not counted."""
    minute = NOW - timedelta(minutes=5)
    for wait, run in ((1, 10), (2, 20), (3, 30)):
        ended(user, "countdown", "default", "finished", minute, wait, run)
    ended(user, "countdown", "default", "failed", minute, 4, 40)
    ended(user, "narrate", "video", "finished", NOW - timedelta(minutes=30), 0.5, 100)
    ended(user, "narrate", "video", "finished", NOW - timedelta(minutes=30), 0.5, 200)
    ended(user, "assemble-video", "video", "failed", NOW - timedelta(hours=3), 5, 60)
    ended(user, "countdown", "default", "finished", NOW - timedelta(days=3), 8, 80)
    ended(user, "countdown", "default", "finished", NOW - timedelta(days=9), 1, 1)
    # Neither finished nor failed, or not ended: never counted.
    ended(user, "countdown", "default", "stopped", minute, 1, 5)
    ended(user, "countdown", "default", "canceled", minute, 1, None)
    db.session.add(BackgroundJob(task="countdown", queue="default", status="started", params={},
                                 user_id=user.id, started_at=NOW - timedelta(seconds=5)))
    # Failed before it ever started (Redis refused it): counted, without durations.
    ended(user, "countdown", "default", "failed", minute, None, None)
    db.session.commit()


def test_bins_are_postgresql_width_bucket(db_session):
    values = [float(v) for v in (0, -1, 0.005, 0.01, 0.0119, 0.012, 1, 1.5, 59.9, 60, 3600,
                                 86400, 97000, 10**7, *histogram.BOUNDS[::7])]
    found = db_session.execute(text("SELECT width_bucket(v, :bounds) FROM unnest(:values) v"),
                               {"bounds": list(histogram.BOUNDS), "values": values}).scalars()
    assert list(found) == [histogram.bin_of(v) for v in values]


def test_percentiles_are_within_the_documented_error():
    generator = random.Random(7)
    for _ in range(50):
        values = [generator.lognormvariate(1, 2) for _ in range(generator.randint(1, 400))]
        counts = histogram.empty()
        for value in values:
            counts[histogram.bin_of(value)] += 1
        for q in (0.5, 0.95):
            exact = nearest_rank(values, q)
            estimate = histogram.quantile(counts, q)
            assert near(estimate, exact) or (exact < 0.01 and estimate < 0.01), (q, exact)
    assert histogram.quantile(histogram.empty(), 0.5) is None


def test_the_last_hour_of_known_rows(rows):
    result = metrics(WINDOWS["1h"], NOW)
    assert (result.total.finished, result.total.failed) == (5, 2)
    assert result.total.failure_rate == pytest.approx(2 / 7)
    bucket = next(p for p in result.series if p.start == NOW.replace(second=0) -
                  timedelta(minutes=5))
    assert (bucket.figures.finished, bucket.figures.failed) == (3, 2)
    assert sum(p.figures.finished + p.figures.failed for p in result.series) == 7
    countdown = next(f for f in result.by_task if f.name == "countdown")
    assert (countdown.finished, countdown.failed) == (3, 2)
    assert countdown.run.count == 4  # the job that never started has no run time
    assert countdown.run.mean == pytest.approx(25)
    assert countdown.wait.mean == pytest.approx(2.5)
    assert near(countdown.run.p50, 20) and near(countdown.run.p95, 40)
    assert near(countdown.wait.p50, 2) and near(countdown.wait.p95, 4)
    queues = {f.name: (f.finished, f.failed) for f in result.by_queue}
    assert queues == {"default": (3, 2), "video": (2, 0)}


def test_render_stages_have_their_own_run_times(rows):
    result = metrics(WINDOWS["24h"], NOW)
    stages = {f.name: f for f in result.stages}
    assert list(stages) == list(STAGES)
    assert near(stages["narrate"].run.p50, 100) and near(stages["narrate"].run.p95, 200)
    assert stages["narrate"].run.mean == pytest.approx(150)
    assert (stages["assemble-video"].failed, stages["assemble-video"].failure_rate) == (1, 1.0)
    assert stages["write-script"].run.p50 is None and stages["write-script"].failure_rate is None


@pytest.mark.parametrize(("name", "step", "count", "ended"),
                         [("1h", 60, 60, 7), ("24h", 3600, 24, 8), ("7d", 21600, 28, 9)])
def test_each_window_has_its_buckets_and_rows(rows, name, step, count, ended):
    result = metrics(WINDOWS[name], NOW)
    starts = [p.start for p in result.series]
    assert len(starts) == count
    assert all(b - a == timedelta(seconds=step) for a, b in zip(starts, starts[1:], strict=False))
    assert starts[-1] <= NOW < starts[-1] + timedelta(seconds=step)
    assert starts[0] == result.start and starts[0].timestamp() % step == 0
    assert result.total.finished + result.total.failed == ended


def test_the_rollup_gives_the_numbers_of_the_rows(rows, user):
    for hours_ago in range(1, 40, 3):  # more, spread over the buckets of 24 h and 7 d
        ended(user, "render-scenes", "video", "finished", NOW - timedelta(hours=hours_ago),
              hours_ago / 10, hours_ago)
    before = {name: rounded(to_dict(metrics(WINDOWS[name], NOW))) for name in ("24h", "7d")}
    assert rollup.rolled_up_to() is None
    while rollup.roll_up(NOW):
        pass
    assert rollup.rolled_up_to() == rollup.floor(NOW - rollup.SETTLE, rollup.HOUR)
    assert db.session.execute(text("SELECT count(*) FROM job_metrics_hourly")).scalar() > 1
    for name, numbers in before.items():
        assert rounded(to_dict(metrics(WINDOWS[name], NOW))) == numbers, name


def test_the_rollup_keeps_what_happened_and_catches_up_after_quiet_hours(rows, user):
    while rollup.roll_up(NOW):
        pass
    failed = db.session.scalars(db.select(BackgroundJob).where(
        BackgroundJob.task == "assemble-video")).one()
    failed.status, failed.ended_at = "queued", None  # retried after the hour was rolled up
    db.session.commit()
    assert metrics(WINDOWS["24h"], NOW).total.failed == 3
    later = NOW + timedelta(days=3)  # three quiet days, then one job
    ended(user, "countdown", "default", "finished", later - timedelta(hours=2), 1, 1)
    while rollup.roll_up(later):
        pass
    assert rollup.rolled_up_to() == rollup.floor(later - rollup.SETTLE, rollup.HOUR)
    assert metrics(WINDOWS["24h"], later).total.finished == 1


def test_without_a_rollup_long_windows_read_the_rows(rows, monkeypatch):
    calls = []
    monkeypatch.setattr(rollup, "rolled_cells", lambda *a: calls.append(a) or [])
    assert metrics(WINDOWS["7d"], NOW).total.finished == 6
    assert calls == []


@pytest.fixture
def admin_auth(db_session):
    return {"Authorization": f"Bearer {make_token(make_user(admin=True))}"}


def test_the_api_answers_the_same_numbers(client, rows, admin_auth, monkeypatch):
    monkeypatch.setattr("webapp.api.metrics.metrics", lambda window, now: metrics(window, NOW))
    response = client.get("/api/v1/metrics?window=1h", headers=admin_auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body == to_dict(metrics(WINDOWS["1h"], NOW))
    assert (body["window"], body["bucket_seconds"], len(body["series"])) == ("1h", 60, 60)
    assert body["total"]["finished"] == 5 and body["total"]["failed"] == 2
    assert set(body["series"][0]) == {"start", "finished", "failed", "failure_rate",
                                      "wait_seconds", "run_seconds"}
    assert set(body["total"]["run_seconds"]) == {"count", "p50", "p95", "mean"}
    assert [s["name"] for s in body["stages"]] == list(STAGES)
    assert client.get("/api/v1/metrics", headers=admin_auth).get_json()["window"] == "24h"


@pytest.mark.parametrize("value", ["2h", "7D", " 1h", "all"])
def test_the_api_refuses_other_windows_naming_window(client, db_session, admin_auth, value):
    response = client.get("/api/v1/metrics", query_string={"window": value}, headers=admin_auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "window"


def test_the_api_is_for_admins(client, db_session, auth):
    assert client.get("/api/v1/metrics").status_code == 401
    response = client.get("/api/v1/metrics", headers=auth)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def _admin_client(client):
    from tests.support import login

    login(client, make_user(admin=True))
    return client


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
def test_the_page_draws_svg_charts_without_inline_styles(client, rows, window):
    html = _admin_client(client).get(f"/console/metrics?window={window}").get_data(as_text=True)
    charts = re.findall(r"<svg [^>]*>", html)
    assert len(charts) == 8
    assert all('role="img"' in c and 'aria-label="' in c for c in charts)
    assert " style=" not in html and "<style" not in html and "<script>" not in html
    assert re.search(r'<a href="\?window=' + window + '" aria-current="page">', html)
    assert "<title>" in html  # each bar and point says its value on hover
    assert 'aria-current="page">Metrics</a>' in html  # the console's section navigation


def test_the_page_summarises_and_escapes(client, rows, user):
    ended(user, "<b>odd</b>", "default", "finished", datetime.now(UTC) - timedelta(minutes=1),
          1, 1)
    html = _admin_client(client).get("/console/metrics?window=1h").get_data(as_text=True)
    assert "<b>odd</b>" not in html and "&lt;b&gt;odd&lt;/b&gt;" in html
    assert re.search(r'aria-label="Jobs finished and failed per minute, last 1 hour: '
                     r'\d+ finished and \d+ failed in all', html)
    # An unknown window shows the default one.
    page = client.get("/console/metrics?window=forever").get_data(as_text=True)
    assert '<a href="?window=24h" aria-current="page">' in page


def test_the_page_is_for_admins(client, db_session, user):
    from tests.support import login

    assert client.get("/console/metrics").status_code == 303
    login(client, user)
    assert client.get("/console/metrics").status_code == 403


def test_a_reconciler_pass_keeps_the_rollup(app, db_session, user, redis):
    from webapp.jobs import reconcile

    now = datetime.now(UTC)
    ended(user, "countdown", "default", "finished", now - timedelta(hours=2), 1, 3)
    caught_up = rollup.floor(now - rollup.SETTLE, rollup.HOUR)
    passes = 0
    while rollup.rolled_up_to() != caught_up:  # a pass rolls up at most a day
        repairs = reconcile.run_pass()
        assert "metrics" not in " ".join(repairs)  # catching up is not a repair
        passes += 1
        assert passes <= rollup.HORIZON.days + 1
    rolled = rollup.rolled_cells(now - timedelta(days=1), now)
    assert [(c.task, c.finished) for c in rolled] == [("countdown", 1)]
