"""A bulk cancel of 500 jobs on a real worker process: its work-horse is killed half way,
RQ runs it again, it finishes what was left; every job of another user is audited once, and
running it again changes nothing."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from tests.support import job_row, make_token, make_user, wait_for
from webapp.extensions import db
from webapp.models import AuditEvent, BackgroundJob

pytestmark = pytest.mark.e2e

JOBS = 500


def _canceled(ids) -> int:
    db.session.rollback()  # a fresh snapshot
    return db.session.scalar(select(func.count()).select_from(BackgroundJob).where(
        BackgroundJob.id.in_(ids), BackgroundJob.status == "canceled"))


def _audited(bulk_id: str | None = None) -> list[AuditEvent]:
    db.session.rollback()
    stmt = select(AuditEvent).where(AuditEvent.action == "job.cancel")
    if bulk_id:
        stmt = stmt.where(AuditEvent.detail["bulk_job"].astext == bulk_id)
    return list(db.session.scalars(stmt))


def _finished(job_id: str, timeout: float = 120) -> BackgroundJob:
    return wait_for(lambda: (row := job_row(job_id)).status == "finished" and row,
                    timeout=timeout, message=f"bulk job {job_id} to finish")


@pytest.mark.timeout(300)
def test_a_bulk_cancel_of_500_jobs_survives_a_crash_is_audited_and_is_idempotent(
        client, worker, live_db):
    admin, owner = make_user(admin=True), make_user()
    rows = [BackgroundJob(task="countdown", queue="default", params={"steps": 1},
                          user_id=(owner if n % 5 < 3 else admin).id, status="queued")
            for n in range(JOBS)]
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    theirs = {str(row.id) for row in rows if row.user_id == owner.id}
    headers = {"Authorization": f"Bearer {make_token(admin)}"}

    response = client.post("/api/v1/jobs/bulk", headers=headers, json={
        "action": "cancel", "filter": {"task": "countdown", "status": ["queued"]}})
    assert response.status_code == 202, response.get_json()
    bulk_id = response.get_json()["id"]
    wait_for(lambda: _canceled(ids) >= 20, timeout=60, interval=0.02,
             message="the bulk job to get going")
    horses = worker.horse_pids()
    assert horses, "no work-horse to kill"
    os.kill(horses[0], signal.SIGKILL)
    time.sleep(0.5)  # a commit already on its way lands first
    done_before = _canceled(ids)
    assert done_before < JOBS, "the bulk job ended before its work-horse was killed"

    finished = _finished(bulk_id)  # RQ retries it (after 5 s): it does what is left
    assert finished.attempt == 2, worker.log()
    assert finished.result["done"] == JOBS - done_before == finished.result["matched"]
    assert _canceled(ids) == JOBS
    audited = _audited(bulk_id)
    assert sorted(e.target_id for e in audited) == sorted(theirs)  # each once, none of his own
    assert {e.owner_id for e in audited} == {owner.id}
    assert finished.stage.startswith("Canceling:") and finished.progress == 100

    again = client.post("/api/v1/jobs/bulk", headers=headers, json={
        "action": "cancel", "filter": {"task": "countdown"}}).get_json()
    rerun = _finished(again["id"])
    assert (rerun.result["matched"], rerun.result["done"], rerun.result["skipped"]) == (
        JOBS, 0, JOBS)
    assert len(_audited()) == len(theirs)
    shown = client.get(f"/api/v1/jobs/{again['id']}", headers=headers).get_json()
    assert shown["status"] == "finished" and shown["result"]["skipped"] == JOBS
