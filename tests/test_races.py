"""Check-then-insert races, attacked with simultaneous requests against gunicorn: the rule
holds in PostgreSQL, so exactly one request wins and the others get a 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from tests.live import WebProcess
from tests.support import child_env, make_token, make_user
from webapp.extensions import db
from webapp.models import BackgroundJob

pytestmark = pytest.mark.e2e

SCRIPT = [{"heading": "One", "narration": "First scene."},
          {"heading": "Two", "narration": "Second scene."}]


@pytest.fixture
def web(live_db):
    process = WebProcess(child_env(), workers=2, threads=8).wait_ready()
    yield process
    process.stop()


def _all_at_once(count: int, call) -> list[httpx.Response]:
    """`count` calls released together by a barrier, from as many threads."""
    barrier = threading.Barrier(count)

    def go(_):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


def test_eight_simultaneous_renders_of_one_project_start_exactly_one(web):
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    with httpx.Client(base_url=web.url, headers=headers, timeout=30) as api:
        project = api.post("/api/v1/projects", json={"title": "Race", "script": SCRIPT,
                                                     "voice": "silent"}).json()
        url = f"/api/v1/projects/{project['id']}/render"
        for attempt in range(3):  # a race that loses only sometimes must lose every time
            responses = _all_at_once(8, lambda: api.post(url))
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [202] + [409] * 7, (attempt, statuses)
            conflict = next(r for r in responses if r.status_code == 409)
            assert "already rendering" in conflict.json()["error"]["message"]
            renders = db.session.scalar(
                select(func.count(func.distinct(BackgroundJob.pipeline_id)))
                .where(BackgroundJob.project_id == project["id"]))
            assert renders == attempt + 1
            # End this render so the next round can race for a new one.
            for stage in next(r for r in responses if r.status_code == 202).json()["stages"]:
                api.post(stage["links"]["cancel"])
            db.session.expire_all()
