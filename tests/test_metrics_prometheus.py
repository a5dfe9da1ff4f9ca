"""/metrics for Prometheus: off without METRICS_TOKEN, the bearer token checked, the values of
known rows and Redis state as prometheus_client's parser reads them, and the same answers
from two gunicorn processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, Worker

from tests.live import WebProcess, free_port
from tests.support import child_env, login, make_user
from webapp.config import ConfigError, from_env
from webapp.extensions import db
from webapp.jobs.reconcile import COUNTERS
from webapp.metrics import prometheus
from webapp.models import BackgroundJob

TOKEN = "prometheus-test-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)


def job(user, task="countdown", queue="default", status="finished", ago: float = 60,
        run: float | None = None, **fields) -> BackgroundJob:
    """A committed row that ended (or, not final, was enqueued) `ago` seconds ago."""
    at = datetime.now(UTC) - timedelta(seconds=ago)
    final = status in ("finished", "failed", "stopped", "canceled")
    row = BackgroundJob(task=task, queue=queue, status=status, params={}, user_id=user.id,
                        created_at=at - timedelta(seconds=(run or 0) + 1),
                        enqueued_at=at - timedelta(seconds=(run or 0) + 1) if final else at,
                        started_at=at - timedelta(seconds=run) if run is not None else None,
                        ended_at=at if final else None, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def seed(user) -> None:
    """Known rows: two waiting, one running, and jobs that ended in the last hour and day."""
    job(user, status="queued", ago=120)
    job(user, status="queued", ago=30, held=True)
    job(user, task="narrate", queue="video", status="started", ago=10, run=10)
    for run in (1, 2, 4):
        job(user, run=run)
    job(user, status="failed", ago=3 * 3600, run=3)
    job(user, status="canceled", ago=600)
    job(user, run=5, ago=3 * 86400)  # too old for any of them


def scrape(get) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    body = response.text  # httpx's and Werkzeug's test responses alike
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_off_without_a_token(client, db_session):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN}x", "Bearer", TOKEN])
def test_a_wrong_or_missing_token_is_401(client, db_session, token, header):
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_opens_it_and_a_session_does_not(client, db_session, token):
    assert client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    login(client, make_user(admin=True))
    assert client.get("/metrics").status_code == 401
    assert client.post("/metrics", headers=BEARER).status_code == 405


def test_the_setting_is_checked():
    base = {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x",
            "CUTROOM_ENV": "development"}
    assert from_env(base)["METRICS_TOKEN"] is None
    assert from_env({**base, "METRICS_TOKEN": TOKEN})["METRICS_TOKEN"] == TOKEN
    for bad in ("short", "has a space in it 0123456789"):
        with pytest.raises(ConfigError, match="METRICS_TOKEN"):
            from_env({**base, "METRICS_TOKEN": bad})


def test_the_numbers_of_known_rows_and_redis(client, db_session, user, redis, token):
    seed(user)
    queue = Queue("default", connection=redis)
    queue.enqueue("builtins.len", "ab")
    queue.enqueue("builtins.len", "abc")
    busy = Worker([queue], connection=redis, name="metrics-busy")
    busy.register_birth()
    busy.set_state("busy")
    redis.hset(COUNTERS, mapping={"lost_failed": 3, "created_enqueued": 1})
    samples = scrape(client.get)
    assert value(samples, "cutroom_jobs", status="queued", task="countdown") == 2
    assert value(samples, "cutroom_jobs", status="started", task="narrate") == 1
    ended = {(s, w): value(samples, "cutroom_jobs_ended", status=s, task="countdown", window=w)
             for s in ("finished", "failed", "canceled") for w in ("1h", "24h")}
    assert ended == {("finished", "1h"): 3, ("finished", "24h"): 3, ("failed", "1h"): 0,
                     ("failed", "24h"): 1, ("canceled", "1h"): 1, ("canceled", "24h"): 1}
    assert 119 <= value(samples, "cutroom_oldest_waiting_seconds", queue="default") < 200
    assert value(samples, "cutroom_oldest_waiting_seconds", queue="video") == 0
    assert value(samples, "cutroom_queue_depth", queue="default") == 2
    assert value(samples, "cutroom_queue_depth", queue="video") == 0
    assert value(samples, "cutroom_workers", state="busy") == 1
    assert value(samples, "cutroom_workers", state="idle") == 0
    assert value(samples, "cutroom_reconciler_repairs_total", kind="lost_failed") == 3
    run = {le: value(samples, "cutroom_job_run_seconds_bucket", task="countdown", le=le)
           for le in ("0.64", "1.28", "2.56", "5.12", "+Inf")}
    assert run == {"0.64": 0, "1.28": 1, "2.56": 2, "5.12": 3, "+Inf": 3}
    assert value(samples, "cutroom_job_run_seconds_count", task="countdown") == 3
    assert value(samples, "cutroom_job_run_seconds_sum", task="countdown") == pytest.approx(7)
    assert value(samples, "cutroom_job_wait_seconds_count", task="countdown") == 3
    assert value(samples, "cutroom_source_up", source="postgresql") == 1
    assert value(samples, "cutroom_source_up", source="redis") == 1


def test_without_redis_it_still_answers_what_postgresql_knows(client, db_session, user, token,
                                                               monkeypatch):
    seed(user)
    gone = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    monkeypatch.setattr(prometheus, "get_redis", lambda: gone)
    samples = scrape(client.get)
    assert value(samples, "cutroom_source_up", source="redis") == 0
    assert value(samples, "cutroom_jobs", status="queued", task="countdown") == 2
    assert not any(name == "cutroom_queue_depth" for name, _ in samples)


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_two_gunicorn_processes_answer_the_same(live_db, redis):
    user = make_user()
    seed(user)
    Queue("default", connection=redis).enqueue("builtins.len", "ab")
    web = WebProcess(child_env(METRICS_TOKEN=TOKEN), workers=2, threads=2).wait_ready()
    try:
        with httpx.Client(base_url=web.url, timeout=20) as http, ThreadPoolExecutor(4) as pool:
            scrapes = list(pool.map(lambda _: scrape(http.get), range(16)))
            assert http.get("/metrics").status_code == 401
    finally:
        web.stop()
    moving = {"cutroom_oldest_waiting_seconds"}  # an age: it grows between scrapes
    steady = [{k: v for k, v in s.items() if k[0] not in moving} for s in scrapes]
    assert all(s == steady[0] for s in steady[1:])
    first = scrapes[0]
    assert value(first, "cutroom_jobs", status="queued", task="countdown") == 2
    assert value(first, "cutroom_queue_depth", queue="default") == 1
    assert value(first, "cutroom_job_run_seconds_count", task="countdown") == 3
