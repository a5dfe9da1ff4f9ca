"""Jobs chained into a pipeline: what happens to the later steps when one step ends.

Steps share `pipeline_id` and are ordered by `pipeline_step`; RQ dependencies chain them. RQ
leaves the dependents of a failed job deferred for ever, so when a step fails, is stopped or
canceled, the later steps are canceled here, in PostgreSQL and in RQ, with a message that
names the step that ended the pipeline.
"""

from __future__ import annotations

import logging
import uuid

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.jobs import transitions
from webapp.jobs.registry import get_task
from webapp.models import BackgroundJob

log = logging.getLogger(__name__)

_jobs = BackgroundJob.__table__


def _step_of(job_id: uuid.UUID | str) -> tuple[uuid.UUID, int, str] | None:
    row = db.session.execute(
        select(_jobs.c.pipeline_id, _jobs.c.pipeline_step, _jobs.c.task).where(
            _jobs.c.id == uuid.UUID(str(job_id))
        )
    ).first()
    if row is None or row.pipeline_id is None:
        return None
    return row.pipeline_id, row.pipeline_step, row.task


def step_title(task_name: str) -> str:
    task = get_task(task_name)
    return task.title if task else task_name


def cancel_later_steps(job_id: uuid.UUID | str, outcome: str) -> list[str]:
    """Cancel the waiting steps after this one; `outcome` completes "the <step> stage ...".

    Returns the canceled job ids. Does not commit.
    """
    step = _step_of(job_id)
    if step is None:
        return []
    pipeline_id, number, task_name = step
    reason = f"Canceled: the {step_title(task_name)} stage {outcome}."
    stmt = (
        update(_jobs)
        .where(
            _jobs.c.pipeline_id == pipeline_id,
            _jobs.c.pipeline_step > number,
            _jobs.c.status.in_(sorted(transitions.WAITING)),
        )
        .values(status=transitions.CANCELED, error=reason, ended_at=func.now(),
                held=False, updated_at=func.now())
        .returning(_jobs.c.id)
    )
    return [str(row_id) for row_id in db.session.scalars(stmt)]


def cancel_in_rq(job_ids: list[str], connection: Redis) -> None:
    """Take canceled steps out of RQ (they wait in its deferred registry); never raises."""
    for job_id in job_ids:
        try:
            Job.fetch(job_id, connection=connection).cancel()
        except (NoSuchJobError, InvalidJobOperation):
            continue
        except ValueError:
            # RQ lost a race with a worker starting the job (an execution of it vanished
            # under the cancel); that worker finds the row canceled and settles RQ.
            log.info("Job %s was starting in a worker as it was canceled", job_id)
        except RedisError:
            log.warning("Could not cancel job %s in Redis", job_id, exc_info=True)


def end_pipeline_after(job_id: uuid.UUID | str, outcome: str, connection: Redis) -> None:
    """A step ended badly: cancel the later ones in PostgreSQL (committed), then in RQ."""
    canceled = cancel_later_steps(job_id, outcome)
    db.session.commit()
    cancel_in_rq(canceled, connection)


def mark_next_step_queued(job_id: uuid.UUID | str) -> bool:
    """A step finished: RQ has just queued the next one, so its row stops saying deferred."""
    step = _step_of(job_id)
    if step is None:
        return False
    pipeline_id, number, _ = step
    stmt = (
        update(_jobs)
        .where(_jobs.c.pipeline_id == pipeline_id, _jobs.c.pipeline_step == number + 1,
               _jobs.c.status == transitions.DEFERRED)
        .values(status=transitions.QUEUED, enqueued_at=func.now(), updated_at=func.now())
    )
    return db.session.execute(stmt).rowcount == 1
