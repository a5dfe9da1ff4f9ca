"""The reconciler: finds jobs that nothing will bring to a final state, and repairs them.

Each pass, in this order (a queued outcome may explain what a later check would repair):
1. apply outcomes that callbacks queued in Redis while PostgreSQL was unreachable, and
   those work-horses handed to a worker that died before recording them
   (webapp/jobs/handoff.py);
2. enqueue rows left `created` (the web process died between commit and enqueue);
3. settle stop requests no worker confirmed (resend, or record `stopped` if the worker is gone);
4. repair `started` rows whose worker is gone (RQ's outcome if it has one, else retry or
   `failed/abandoned`);
5. repair waiting rows whose RQ job Redis lost (re-enqueue idempotent tasks, else
   `failed/lost`);
6. dispatch held jobs whose owner has room again (a safety net for fair sharing);
7. sweep scratch folders (a stage's output being built) whose job is over, which a
   work-horse killed or stopped mid-stage leaves behind, anywhere under MEDIA_ROOT;
8. prune old final rows (retention);
9. roll up the hours that ended into the metrics' hourly rollup (webapp/jobs/rollup.py);
10. write the paused queues into Redis again from PostgreSQL (webapp/jobs/pauses.py).
Every repair writes a log line and increments a counter in Redis (`cutroom:reconciler:repairs`);
each pass ends by recording its repairs by kind, and what the doctor finds then, in
PostgreSQL (webapp/jobs/history.py: the consistency panel reads them).
One pass runs at a time across all processes (a Redis lock), so running a reconciler next to
every worker is safe.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis import Redis
from rq.command import send_command
from rq.job import JobStatus
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from webapp.extensions import db
from webapp.jobs import dispatch, handoff, outcomes, pending_outcomes, rollup, rqstate, transitions
from webapp.jobs.callbacks import jsonable
from webapp.jobs.connection import get_redis
from webapp.jobs.dispatch import push_to_rq
from webapp.jobs.registry import Task, get_task
from webapp.jobs.retention import Housekeeping
from webapp.models import BackgroundJob

log = logging.getLogger(__name__)

COUNTERS = "cutroom:reconciler:repairs"
LOCK = "cutroom:reconciler:lock"
BATCH = 500


class Pass(Housekeeping):
    """One reconciliation pass over the current app's database and Redis."""

    def __init__(self) -> None:
        self.config = current_app.config
        self.redis: Redis = get_redis()
        self.counts: Counter[str] = Counter()
        self.now = datetime.now(UTC)

    def repaired(self, kind: str, job_id: Any, detail: str) -> None:
        log.warning("reconciler: %s: job %s: %s", kind, job_id, detail)
        self.counts[kind] += 1

    def record(self, kind: str, detail: str, outcome: Callable[..., bool], job_id: Any,
               *args: Any) -> None:
        """Record an outcome as a repair, counted only if it changed the row now (not when
        the row had moved on, nor when PostgreSQL was down and it was queued in Redis: the
        next pass counts that as outcome_applied)."""
        if outcomes.record(outcome, job_id, *args):
            self.repaired(kind, job_id, detail)
        else:
            log.info("reconciler: %s: job %s: nothing recorded", kind, job_id)

    def ago(self, seconds: float) -> datetime:
        return self.now - timedelta(seconds=seconds)

    def rows(self, *conditions, order=None) -> list[BackgroundJob]:
        stmt = select(BackgroundJob).where(*conditions).limit(BATCH)
        stmt = stmt.order_by(*(order or (BackgroundJob.created_at,)))
        return list(db.session.scalars(stmt))

    def run(self) -> Counter[str]:
        broke_off = None
        for step in (self.apply_outcomes, self.enqueue_created, self.settle_stop_requests,
                     self.recover_abandoned, self.recover_lost, self.dispatch_held,
                     self.sweep_scratch_folders, self.prune, self.roll_up_metrics,
                     self.mirror_pauses):
            try:
                step()
            except DBAPIError:
                db.session.rollback()
                log.warning("reconciler: PostgreSQL unreachable during %s; next pass retries",
                            step.__name__)
                broke_off = step.__name__
                break
        for kind, count in self.counts.items():
            self.redis.hincrby(COUNTERS, kind, count)
        self.record_pass(broke_off)
        return self.counts

    def roll_up_metrics(self) -> None:
        """Not a repair, so not counted: the charts' rollup catching up with the hours."""
        if hours := rollup.roll_up(self.now):
            log.info("reconciler: rolled up %d hour(s) of metrics", hours)
        db.session.commit()

    def apply_outcomes(self) -> None:
        """Outcomes queued while PostgreSQL was down, oldest first. One that cannot be
        applied (an unknown name, not JSON) is logged and dropped, and the pass goes on.
        First the outcomes left in the handoff list of a worker that is gone join them."""
        grace = self.config["HEARTBEAT_GRACE"]
        if moved := handoff.adopt_orphans(
                self.redis, lambda name: rqstate.worker_alive(self.redis, name, grace)):
            log.warning("reconciler: %d outcome(s) of workers that are gone, to apply", moved)
        while (item := pending_outcomes.take()) is not None:
            raw, event = item
            if event is None:
                log.error("reconciler: dropping a queued outcome that is not JSON: %r", raw[:200])
                self.counts["outcome_dropped"] += 1
                continue
            try:
                outcomes.apply(event["outcome"], event["job_id"], event["args"])
            except DBAPIError:
                pending_outcomes.put_back(raw)
                raise
            except outcomes.UnknownOutcome as exc:
                db.session.rollback()
                self.repaired("outcome_dropped", event.get("job_id"), f"{exc}; dropped")
                continue
            except Exception:
                db.session.rollback()
                log.exception("reconciler: dropping a malformed queued outcome %r", raw[:200])
                self.counts["outcome_dropped"] += 1
                continue
            self.repaired("outcome_applied", event["job_id"], event["outcome"])

    def _previous_step(self, row: BackgroundJob) -> BackgroundJob | None:
        if row.pipeline_id is None or not row.pipeline_step:
            return None
        return db.session.scalar(select(BackgroundJob).where(
            BackgroundJob.pipeline_id == row.pipeline_id,
            BackgroundJob.pipeline_step == row.pipeline_step - 1))

    def _push(self, row: BackgroundJob, task: Task) -> JobStatus | None:
        """Enqueue the row in RQ again (after its previous step, if that one is unfinished);
        None when the previous step ended badly, so this one is canceled instead."""
        previous = self._previous_step(row)
        if previous is not None and previous.status in (transitions.FAILED,
                                                        transitions.STOPPED,
                                                        transitions.CANCELED):
            transitions.mark_canceled(row.id)
            db.session.commit()
            return None
        waits = previous is not None and previous.status != transitions.FINISHED
        depends_on = previous.rq_id if waits else None
        return push_to_rq(row, task, depends_on).get_status(refresh=False)

    def _settle(self, row: BackgroundJob, status: JobStatus | None, transition, kind: str,
                detail: str) -> None:
        """Record a row put back in RQ with `status` (None: canceled, as its previous step
        ended badly)."""
        if status is None:
            self.repaired(f"{kind}_canceled", row.id, "its previous step ended badly")
            return
        transition(row.id, status.value)
        db.session.commit()
        self.repaired(f"{kind}_{'enqueued' if kind == 'created' else 'requeued'}", row.id,
                      f"{detail}; now {status.value}")

    def enqueue_created(self) -> None:
        admitted: set = set()  # pipelines handed on whole in this pass
        for row in self.rows(BackgroundJob.status == transitions.CREATED,
                             BackgroundJob.created_at < self.ago(self.config["RECOVER_AFTER"]),
                             order=(BackgroundJob.pipeline_step.nulls_first(),
                                    BackgroundJob.created_at)):
            if row.pipeline_id is not None and row.pipeline_id in admitted:
                continue
            task = get_task(row.task)
            if task is None:
                self.record("created_failed", "its task no longer exists",
                            outcomes.failed, row.id, f"Unknown task {row.task!r}.", "lost")
                continue
            existing = rqstate.fetch(self.redis, row.rq_id)
            if existing is None and not row.pipeline_step:
                self._admit(row)  # a whole unit never handed on: fair share applies
                admitted.add(row.pipeline_id)
                continue
            status = existing.get_status() if existing else self._push(row, task)
            self._settle(row, status, transitions.mark_queued, "created", "left created")

    def _admit(self, head: BackgroundJob) -> None:
        """Dispatch or hold a unit the web process committed but never handed on."""
        unit = [head] if head.pipeline_id is None else [
            r for r in self.rows(BackgroundJob.pipeline_id == head.pipeline_id,
                                 order=(BackgroundJob.pipeline_step,))
            if r.status == transitions.CREATED]
        went = dispatch.admit(unit)
        self.repaired("created_enqueued" if went else "created_held", head.id,
                      "left created; " + ("now queued" if went else "held: owner at limit"))

    def dispatch_held(self) -> None:
        """Safety net: dispatch held units whose owner has room (a release missed while Redis
        was down, or limits an admin raised)."""
        for user_id in dispatch.users_with_held():
            if count := dispatch.release(user_id):
                self.repaired("held_dispatched", f"user {user_id}", f"{count} unit(s)")

    def settle_stop_requests(self) -> None:
        timeout = self.config["CANCEL_CONFIRM_TIMEOUT"]
        for row in self.rows(BackgroundJob.status == transitions.STARTED,
                             BackgroundJob.cancel_requested_at < self.ago(timeout)):
            if rqstate.worker_alive(self.redis, row.worker_name,
                                    self.config["HEARTBEAT_GRACE"]):
                send_command(self.redis, row.worker_name, "stop-job", job_id=row.rq_id)
                self.repaired("stop_resent", row.id, f"to worker {row.worker_name}")
                continue
            rq_job = rqstate.fetch(self.redis, row.rq_id)
            if rq_job is not None:
                rqstate.stop(self.redis, rq_job)
            self.record("stop_settled", "its worker is gone; recorded as stopped",
                        outcomes.stopped, row.id)

    def recover_abandoned(self) -> None:
        grace = self.config["HEARTBEAT_GRACE"]
        stale = func.coalesce(BackgroundJob.heartbeat_at, BackgroundJob.started_at)
        for row in self.rows(BackgroundJob.status == transitions.STARTED,
                             BackgroundJob.cancel_requested_at.is_(None),
                             stale < self.ago(grace)):
            if not rqstate.worker_alive(self.redis, row.worker_name, grace):
                self._recover_abandoned(row)

    def _recover_abandoned(self, row: BackgroundJob) -> None:
        rq_job = rqstate.fetch(self.redis, row.rq_id)
        rq_status = rq_job.get_status() if rq_job else None
        if rq_status == JobStatus.FINISHED:
            self.record("rq_outcome_applied", "RQ says finished",
                        outcomes.finished, row.id, jsonable(rq_job.return_value()))
            return
        if rq_status in (JobStatus.FAILED, JobStatus.STOPPED):
            self.record("rq_outcome_applied", f"RQ says {rq_status.value}",
                        outcomes.failed, row.id, _rq_error(rq_job), "exception")
            return
        if (rq_status in (JobStatus.QUEUED, JobStatus.SCHEDULED)
                and rqstate.waiting_in_rq(self.redis, rq_job)):
            # RQ already put it back (its own abandoned-job clean-up): just catch up.
            self.record("rq_outcome_applied", f"RQ says {rq_status.value}",
                        outcomes.retrying, row.id, rq_status.value,
                        "Its worker disappeared; RQ queued it again.", "abandoned")
            return
        task = get_task(row.task)
        message = (f"The worker running it ({row.worker_name}) stopped sending heartbeats "
                   "and is gone.")
        if task is not None and row.attempt < task.max_attempts:
            if rq_job is not None:
                rqstate.requeue(self.redis, rq_job)
            else:
                push_to_rq(row, task)
            self.record("abandoned_requeued", f"attempt {row.attempt} abandoned",
                        outcomes.retrying, row.id, transitions.QUEUED, message, "abandoned")
        else:
            if rq_job is not None:
                rqstate.fail(self.redis, rq_job, message)
            self.record("abandoned_failed", "no attempts left",
                        outcomes.failed, row.id, message, "abandoned")

    def recover_lost(self) -> None:
        waiting = (transitions.QUEUED, transitions.DEFERRED, transitions.SCHEDULED)
        since = func.coalesce(BackgroundJob.enqueued_at, BackgroundJob.created_at)
        rows = self.rows(BackgroundJob.status.in_(waiting), BackgroundJob.held.is_(False),
                         since < self.ago(self.config["RECOVER_AFTER"]),
                         order=(BackgroundJob.pipeline_step.nulls_first(),
                                BackgroundJob.created_at))
        with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.exists(f"rq:job:{row.rq_id}")
            present = pipe.execute() if rows else []
        for row, exists in zip(rows, present, strict=True):
            if not exists:
                self._recover_lost(row)

    def _recover_lost(self, row: BackgroundJob) -> None:
        task = get_task(row.task)
        if task is None or not task.idempotent:
            self.record("lost_failed", f"was {row.status}", outcomes.failed, row.id,
                        "Redis lost the job before it ran; it is not safe to run twice, so "
                        "it was not re-enqueued.", "lost")
            return
        self._settle(row, self._push(row, task), transitions.mark_requeued, "lost",
                     f"was {row.status}")


def _rq_error(rq_job) -> str:
    """The last line of RQ's recorded error for the job."""
    result = rq_job.latest_result()
    lines = (result.exc_string or "").strip().splitlines() if result else []
    return lines[-1] if lines else "The job failed in RQ."


def run_pass() -> Counter[str]:
    """Run one pass unless another process is running one; returns the repairs made."""
    redis = get_redis()
    token = secrets.token_hex(8)
    ttl = max(60, int(current_app.config["RECONCILE_INTERVAL"] * 4))
    if not redis.set(LOCK, token, nx=True, ex=ttl):
        return Counter()
    try:
        return Pass().run()
    finally:
        if redis.get(LOCK) == token.encode():
            redis.delete(LOCK)


def counters() -> dict[str, int]:
    """Repairs made so far, by kind, across all reconcilers."""
    raw = get_redis().hgetall(COUNTERS)
    return {k.decode(): int(v) for k, v in sorted(raw.items())}

