"""What the worker and the callbacks record about a job, with what follows from it.

Each outcome is one conditional transition plus its consequences (a failed pipeline step
cancels the later ones; a finished one lets the next show as queued), committed at once;
a job that ended frees a slot of its owner's, so their oldest held job is dispatched.
`record(outcome, job_id, *args)` takes the outcome function itself
(`record(outcomes.failed, job.id, message, code)`), so a misspelt outcome is an AttributeError
where it is written, never a record silently lost. It runs the outcome and never raises (a
function that is not an outcome is a TypeError, at the first call). When PostgreSQL cannot be
reached it queues the outcome in Redis instead (webapp.jobs.pending_outcomes), under its name
in OUTCOMES, and the reconciler applies the queue in order once PostgreSQL is back: a job's
result is never lost because the database blinked. In a work-horse without a PostgreSQL
connection of its own, it hands the outcome to its worker process instead
(webapp.jobs.handoff), which records it through its pool, several in one transaction
(`record_all`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from webapp.extensions import db
from webapp.jobs import batched, dispatch, handoff, pending_outcomes, pipelines, transitions
from webapp.jobs.connection import get_redis

log = logging.getLogger(__name__)

# In record_all: the jobs that ended, whose owners' held jobs are dispatched after the commit.
_batch = threading.local()


def _commit_if(changed: bool) -> bool:
    if getattr(_batch, "ended", None) is not None:
        return changed  # record_all commits once, at the end
    if changed:
        db.session.commit()
    else:
        db.session.rollback()
    return changed


def _release_after(job_id: str) -> None:
    ended = getattr(_batch, "ended", None)
    if ended is None:
        dispatch.release_after(job_id)
    else:
        ended.append(job_id)


def started(job_id: str, worker_name: str, at: float | None = None) -> bool:
    return _commit_if(transitions.mark_started(job_id, worker_name, at))


def finished(job_id: str, result: Any) -> bool:
    if not transitions.mark_finished(job_id, result):
        return _commit_if(False)
    pipelines.mark_next_step_queued(job_id)
    _commit_if(True)
    _release_after(job_id)
    return True


def failed(job_id: str, message: str, code: str, traceback: str | None = None) -> bool:
    if not transitions.mark_failed(job_id, message, code, traceback):
        return _commit_if(False)
    pipelines.end_pipeline_after(job_id, "failed", get_redis())
    _release_after(job_id)
    return True


def retrying(job_id: str, status: str, message: str, code: str,
             traceback: str | None = None) -> bool:
    return _commit_if(transitions.mark_retrying(job_id, status, message, code, traceback))


def stopped(job_id: str) -> bool:
    if not transitions.mark_stopped(job_id):
        return _commit_if(False)
    pipelines.end_pipeline_after(job_id, "was stopped", get_redis())
    _release_after(job_id)
    return True


def interrupted(job_id: str) -> bool:
    return _commit_if(transitions.mark_interrupted(job_id))


def heartbeat(job_id: str) -> bool:
    return _commit_if(transitions.record_heartbeat(job_id))


def progress(job_id: str, percent: int, stage: str | None) -> bool:
    """Not an outcome (not in OUTCOMES): a work-horse's progress, recorded by its worker."""
    return _commit_if(transitions.record_progress(job_id, percent, stage))


OUTCOMES: dict[str, Callable[..., bool]] = {
    fn.__name__: fn for fn in (started, finished, failed, retrying, stopped, interrupted)
}


class UnknownOutcome(LookupError):
    """A queued outcome whose name is not in OUTCOMES (queued by another version, say)."""


def name_of(outcome: Callable[..., bool]) -> str:
    """The outcome's name in OUTCOMES, as queued in Redis; TypeError if it is not one."""
    name = getattr(outcome, "__name__", None)
    if name is None or OUTCOMES.get(name) is not outcome:
        raise TypeError(f"{outcome!r} is not an outcome (one of {', '.join(OUTCOMES)})")
    return name


def record(outcome: Callable[..., bool], job_id: str, *args: Any) -> bool:
    """Record an outcome now; if PostgreSQL is unreachable, queue it for the reconciler.

    `outcome` is one of the functions in OUTCOMES (anything else is a programming error: a
    TypeError before anything is written). Returns True when the row changed now (False
    too when it was handed to the worker process); never raises otherwise. An outcome is
    a transaction of its own: whatever the task left in the session (uncommitted changes
    of a failed task, or a transaction broken by a timeout that interrupted a query) is
    rolled back first.
    """
    name = name_of(outcome)
    if handoff.active() and handoff.push(name, str(job_id), list(args)):
        return False  # the worker process records it
    handoff.settle_start()  # a work-horse writing itself: its `started` first
    _rollback()
    try:
        return outcome(str(job_id), *args)
    except DBAPIError as exc:
        _rollback()
        log.warning("PostgreSQL unreachable recording %s for job %s (%s); queued in Redis",
                    name, job_id, type(exc.orig).__name__ if exc.orig else exc)
        pending_outcomes.push(name, str(job_id), list(args))
        return False
    except Exception:
        _rollback()
        log.exception("Could not record %s for job %s", name, job_id)
        return False


def record_all(items: list[tuple[Callable[..., bool], str, list[Any]]],
               quick: list[dict[str, Any]] | None = None,
               refused: set[str] | None = None) -> list[bool]:
    """Record several (outcome, job_id, args) in one transaction, in order; whether each
    changed its row. `quick`: handed-over events (webapp.jobs.handoff) of other jobs that
    batched.py records in a few statements, first; `refused` gets the jobs whose
    `started`, among either, changed nothing. If that fails, each is recorded on its own,
    as `record` does (what the failed transaction had applied is applied again: nothing
    changes twice)."""
    refused = set() if refused is None else refused
    results = _record_together(items, quick or [], refused)
    refused.update(job_id for (outcome, job_id, _args), changed
                   in zip(items, results, strict=True) if outcome is started and not changed)
    return results


def _record_together(items: list[tuple[Callable[..., bool], str, list[Any]]],
                     quick: list[dict[str, Any]], refused: set[str]) -> list[bool]:
    if len(items) == 1 and not quick:
        return [_record_one(*items[0])]
    _rollback()
    _batch.ended = ended = []
    in_batch: set[str] = set()  # the batch's refusals count only once it is committed
    try:
        ended.extend(batched.apply(quick, in_batch) if quick else ())
        results = [outcome(str(job_id), *args) for outcome, job_id, args in items]
        owners = dispatch.owners_with_held(ended) if ended else []
        db.session.commit()
    except Exception as exc:
        _rollback()
        log.warning("Recording %d outcomes together failed (%s); one at a time",
                    len(items) + len(quick), type(exc).__name__)
        for item in filter(None, map(from_event, quick)):
            if not _record_one(*item) and item[0] is started:
                refused.add(item[1])
        return [_record_one(*item) for item in items]
    finally:
        _batch.ended = None
    refused.update(in_batch)
    if owners:
        dispatch.release_owners(owners, f"{len(ended)} job(s) ended")
    return results


def from_event(event: dict[str, Any]) -> tuple[Callable[..., bool], str, list[Any]] | None:
    """(outcome, job id, args) of a handed-over event; None (logged) for an unknown one."""
    name = event["outcome"]
    outcome = progress if name == handoff.PROGRESS else OUTCOMES.get(name)
    if outcome is None:
        log.error("Dropping a handed-off outcome %r of job %s", name, event["job_id"])
        return None
    return outcome, str(event["job_id"]), list(event.get("args") or [])


def _record_one(outcome: Callable[..., bool], job_id: str, args: list[Any]) -> bool:
    if outcome is progress:
        return try_quietly(lambda jid: progress(jid, *args), job_id)
    return record(outcome, job_id, *args)


def try_quietly(action: Callable[[str], bool], job_id: str) -> bool:
    """For writes that may be lost (heartbeats): run, and only log on failure."""
    try:
        return action(str(job_id))
    except Exception as exc:
        _rollback()
        log.warning("Could not write %s for job %s: %s", action.__name__, job_id, exc)
        return False


def apply(name: str, job_id: str, args: list[Any]) -> bool:
    """Apply a queued outcome (the reconciler); raises UnknownOutcome for a name that is not
    in OUTCOMES, and DBAPIError if PostgreSQL is still down."""
    outcome = OUTCOMES.get(name)
    if outcome is None:
        raise UnknownOutcome(f"no outcome is called {name!r}")
    try:
        return outcome(job_id, *args)
    except DBAPIError:
        _rollback()
        raise


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.exception("Rollback failed")
