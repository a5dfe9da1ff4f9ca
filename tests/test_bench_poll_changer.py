"""bench/poll.py's job changer, in its own process on the test database: only the jobs of
the dashboards that poll in a phase change (the others, left out of a smaller step, would
all catch up at once when the next step starts, a backlog no open dashboard makes), and
none while no phase runs."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

import pytest

from tests.support import child_env, job_row, make_job, make_user, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from poll import changer  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _stages(jobs) -> list[str | None]:
    return [job_row(job.id).stage for job in jobs]


def test_the_changer_moves_only_the_jobs_of_the_dashboards_that_poll(live_db):
    user = make_user()
    polling = [make_job(user, status="started") for _ in range(2)]
    left_out = [make_job(user, status="started") for _ in range(2)]
    job_ids = [[str(job.id) for job in polling], [str(job.id) for job in left_out]]
    spawn = multiprocessing.get_context("spawn")
    stop, polling_count = spawn.Event(), spawn.Value("i", 0)
    process = spawn.Process(target=changer, daemon=True,
                            args=(child_env(), "", job_ids, 20.0, stop, polling_count))
    process.start()
    try:
        time.sleep(1.0)  # no phase: nothing changes
        assert _stages(polling + left_out) == [None] * 4
        polling_count.value = 1  # a phase in which only the first dashboard polls
        wait_for(lambda: all(_stages(polling)), timeout=60, message="both jobs changed")
        time.sleep(0.5)
        polling_count.value = 0
        assert _stages(left_out) == [None, None]
    finally:
        stop.set()
        process.join(timeout=10)
