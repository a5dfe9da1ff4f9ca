"""Cancel, retry or delete many jobs: up to a page of them at once, in the request, or any
number in a background job of its own (the "bulk-action" task) that walks its selection in
keyset batches and reports its progress on its own live card.

Each job goes through the service function of its own button (webapp/jobs/service.py), which
writes the audit row when an admin acts on someone else's job. A job the action no longer
applies to (canceled already, retried already, gone) is skipped, so running a bulk action
again, after a crash or on purpose, does only what is left. The background job touches only
jobs created before it was asked for, and never itself.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from webapp.explorer import search
from webapp.explorer.cursor import Cursor
from webapp.explorer.filters import JobFilter, from_json
from webapp.explorer.where import Where, conditions, where
from webapp.extensions import db
from webapp.jobs import dispatch, service
from webapp.jobs.progress import progress
from webapp.jobs.registry import get_task
from webapp.models import ACTIVE_STATUSES, CREATED, BackgroundJob, User
from webapp.quotas import QuotaExceeded, lock_user
from webapp.validation import ParamsError

J = BackgroundJob
TASK = "bulk-action"
ACTIONS = {"cancel": ("Canceling", "Canceled"), "retry": ("Retrying", "Retried"),
           "delete": ("Deleting", "Deleted")}
OUTCOMES = ("done", "stopping", "skipped", "refused", "failed")
BATCH = 100
MAX_IDS = 1000  # ids in one request; a bigger selection is a filter
MAX_ACTIVE = 3  # bulk actions of one person not yet ended
RECENT = timedelta(minutes=15)  # ended bulk actions stay on the explorer this long


@dataclass(frozen=True)
class Selection:
    """An action and what it applies to: these ids, or every job matching the filter (of
    those the actor may see)."""

    action: str
    ids: tuple[uuid.UUID, ...] | None = None
    filter: JobFilter | None = None


def parse_action(value: Any) -> str:
    if value not in ACTIONS:
        raise ParamsError([{"field": "action", "message": "Must be one of: "
                            + ", ".join(ACTIONS) + "."}])
    return value


def parse_ids(values: Any, field: str = "ids") -> tuple[uuid.UUID, ...]:
    """Job ids (UUIDs), at least one and at most MAX_IDS, without repeats."""
    if not isinstance(values, list) or not values:
        raise ParamsError([{"field": field, "message": "Must be a list of job ids."}])
    if len(values) > MAX_IDS:
        raise ParamsError([{"field": field, "message": f"At most {MAX_IDS} ids: for more, "
                            "send a filter."}])
    ids = []
    for index, value in enumerate(values):
        try:
            ids.append(uuid.UUID(value) if isinstance(value, str) and len(value) <= 40 else None)
        except ValueError:
            ids.append(None)
        if ids[-1] is None:
            raise ParamsError([{"field": f"{field}.{index}", "message": "Not a job id."}])
    return tuple(dict.fromkeys(ids))


def from_body(body: Any) -> Selection:
    """`{"action": ..., "ids": [...]}` or `{"action": ..., "filter": {...}}`."""
    if not isinstance(body, dict):
        raise ParamsError([{"field": "(body)", "message": "Must be a JSON object."}])
    if unknown := sorted(set(body) - {"action", "ids", "filter"}):
        raise ParamsError([{"field": str(key), "message": "Unknown field."} for key in unknown])
    action = parse_action(body.get("action"))
    if ("ids" in body) == ("filter" in body):
        raise ParamsError([{"field": "ids", "message": "Send either ids or a filter."}])
    if "ids" in body:
        return Selection(action, ids=parse_ids(body["ids"]))
    return Selection(action, filter=from_json(body["filter"]))


def apply_one(action: str, job: BackgroundJob, actor: User, **detail: Any) -> str:
    """The action on one job through its service function (which commits and audits); what
    happened, as one of OUTCOMES."""
    if not {"cancel": job.can_cancel, "retry": job.can_retry, "delete": job.can_delete}[action]:
        return "skipped"
    try:
        if action == "cancel":
            canceled = service.cancel(job, actor, **detail)
            return "stopping" if canceled is service.CancelResult.STOPPING else "done"
        (service.retry if action == "retry" else service.delete)(job, actor, **detail)
    except service.JobConflict:
        outcome = "skipped"  # it moved on meanwhile
    except QuotaExceeded:
        outcome = "refused"
    except service.QueueUnavailable:
        outcome = "failed"
    else:
        return "done"
    db.session.rollback()
    return outcome


def act_now(actor: User, action: str, ids: tuple[uuid.UUID, ...]) -> dict[str, Any]:
    """The action on a few jobs (a page at most), in this request; its summary."""
    job_ids = list(db.session.scalars(
        select(J.id).where(*conditions(JobFilter(), actor), J.id.in_(ids))
        .order_by(J.created_at.desc(), J.id.desc())))
    tally: Counter[str] = Counter()
    for job_id in job_ids:
        if (job := db.session.get(J, job_id)) is not None:
            tally[apply_one(action, job, actor, via="bulk")] += 1
    return summary(action, len(ids), tally)


def start(actor: User, selection: Selection) -> BackgroundJob:
    """Record the background job (committed), then enqueue it. A control action, it skips
    the owner's job limits, but one person may have only MAX_ACTIVE at once (429).
    Raises QueueUnavailable when Redis refuses it."""
    _check_room(actor)
    task = get_task(TASK)
    as_of = db.session.scalar(select(func.now()))
    params = task.validate({
        "action": selection.action,
        "ids": None if selection.ids is None else [str(i) for i in selection.ids],
        "filter": None if selection.filter is None else selection.filter.to_json(),
        "as_of": as_of.isoformat(),
    })
    job = BackgroundJob(task=TASK, queue=task.queue, params=params, user_id=actor.id,
                        status=CREATED)
    db.session.add(job)
    db.session.commit()
    dispatch.enqueue(job, task)
    return job


def _check_room(actor: User) -> None:
    lock_user(actor.id)
    active = db.session.scalar(select(func.count()).select_from(J).where(
        J.user_id == actor.id, J.task == TASK, J.status.in_(sorted(ACTIVE_STATUSES))))
    if active >= MAX_ACTIVE:
        db.session.rollback()
        raise QuotaExceeded("bulk_actions", f"You have {active} bulk actions under way, the "
                            "most at once: wait for one to end.", retry_after=10)


def run(bulk_id: str, action: str, ids: list[str] | None, job_filter: dict | None,
        as_of: str) -> dict[str, Any]:
    """The background job: the action on every job of the selection, newest first."""
    me = db.session.get(J, uuid.UUID(bulk_id))
    actor = db.session.get(User, me.user_id)
    chosen = where(JobFilter() if job_filter is None else from_json(job_filter), actor)
    tests = [*chosen.tests, J.id != me.id]
    if ids is not None:
        tests.append(J.id.in_([uuid.UUID(i) for i in ids]))
    selection = Where([*chosen.bounds, J.created_at <= datetime.fromisoformat(as_of)], tests,
                      in_order=False)
    todo = Where(selection.bounds, [*tests, J.allows(action)], in_order=False)
    matched, total = _count(selection.all), _count(todo.all)
    plan = search.plan_for(todo, total, capped=False)
    db.session.commit()  # no transaction stays open between batches
    tally: Counter[str] = Counter()
    after: Cursor | None = None
    while batch := search.matching_ids(todo, after, BATCH, plan):
        for job_id, _ in batch:
            if (job := db.session.get(J, job_id)) is not None:
                tally[apply_one(action, job, actor, via="bulk", bulk_job=bulk_id)] += 1
        after = Cursor(batch[-1][1], batch[-1][0])
        db.session.commit()
        progress(100 * tally.total() / max(total, 1),
                 f"{ACTIONS[action][0]}: {tally.total()} of {total}")
    return summary(action, matched, tally)


def _count(where: list) -> int:
    return db.session.scalar(select(func.count()).select_from(J).where(*where)) or 0


def summary(action: str, matched: int, tally: Counter[str]) -> dict[str, Any]:
    """What a bulk action did; `skipped` also counts the jobs it no longer applied to."""
    counts = {name: tally[name] for name in OUTCOMES if name != "skipped"}
    return {"action": action, "matched": matched, **counts,
            "skipped": max(0, matched - sum(counts.values()))}


def describe(result: dict[str, Any]) -> str:
    """One line for a card or a message: "Canceled 480 of 500 jobs; 20 skipped"."""
    matched = result["matched"]
    line = (f"{ACTIONS[result['action']][1]} {result['done']} of {matched} "
            f"job{'' if matched == 1 else 's'}")
    extras = [f"{result[key]} {text}" for key, text in (
        ("stopping", "asked to stop"), ("skipped", "skipped (already done, or not allowed)"),
        ("refused", "refused by limits"), ("failed", "not reached: the queue was down"))
        if result.get(key)]
    return line + ("; " + ", ".join(extras) if extras else "")


def recent_jobs(actor: User) -> list[BackgroundJob]:
    """The actor's bulk actions under way or ended in the last RECENT, newest first."""
    return list(db.session.scalars(
        select(J).where(J.user_id == actor.id, J.task == TASK,
                        or_(J.status.in_(sorted(ACTIVE_STATUSES)),
                            J.ended_at >= func.now() - RECENT))
        .order_by(J.created_at.desc(), J.id.desc()).limit(5)))
