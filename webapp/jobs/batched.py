"""The worker's most common moves for many jobs at once: one statement per kind of event.

A worker applies what its jobs handed over (worker/drain.py) in batches. In a batch, the
`started` marks of every job become one conditional UPDATE over arrays (`unnest`), every
job's newest progress another, every `finished` a third, plus one for the pipeline steps
those let go: a few statements for a hundred jobs instead of several per job. Each is the
same move as in transitions.py, from the same states (a row never goes backwards: a late
`started` finds a finished row and changes nothing), and notes the owners of the rows it
changed for the live pages (changes.py).

Only jobs whose events in the batch are, in order, at most one `started`, one progress and
one `finished` go this way (`split`); every event of any other job (a failure, a retry, an
attempt that ran twice) goes one at a time, in order, through outcomes.py. Rows are
independent, so the two groups may be applied in either order.

Times come from the events (when the horse or the worker pushed them), not from the batch:
a job's started_at and ended_at are when it started and ended. `started` carries its time
as its identity too: the same mark applied twice (the list trimmed only after the commit)
counts the attempt once, and a row started already takes only a newer one (a killed
worker's list, moved on by the reconciler, never names it over the next worker).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.types import Float, Integer, String

from webapp.extensions import db
from webapp.jobs import transitions
from webapp.jobs.changes import note_owners

# The rank of each kind of event a job may have in a batch applied this way, in order.
RANKS = {"started": 0, "progress": 1, "finished": 2}

_STARTED = text("""
UPDATE background_jobs AS j
SET status = :started, attempt = j.attempt + 1, started_at = to_timestamp(v.at),
    heartbeat_at = now(), worker_name = left(v.worker, 128), progress = 0, stage = NULL,
    updated_at = now()
FROM unnest(:ids, :ats, :workers) AS v(id, at, worker)
WHERE j.id = v.id AND j.status = ANY(:allowed)
  AND j.started_at IS DISTINCT FROM to_timestamp(v.at)
  AND (j.status <> :started OR j.started_at IS NULL OR j.started_at < to_timestamp(v.at))
RETURNING j.id, j.user_id
""")

_PROGRESS = text("""
UPDATE background_jobs AS j
SET progress = v.percent, stage = left(v.stage, 200), heartbeat_at = now(), updated_at = now()
FROM unnest(:ids, :percents, :stages) AS v(id, percent, stage)
WHERE j.id = v.id AND j.status = :started
RETURNING j.user_id
""")

_FINISHED = text("""
UPDATE background_jobs AS j
SET status = :finished, result = CAST(v.result AS jsonb), progress = 100, error = NULL,
    error_code = NULL, traceback = NULL, ended_at = to_timestamp(v.at), updated_at = now()
FROM unnest(:ids, :results, :ats) AS v(id, result, at)
WHERE j.id = v.id AND j.status = ANY(:allowed)
RETURNING j.id, j.user_id, j.pipeline_id IS NOT NULL AS in_pipeline
""")

# pipelines.mark_next_step_queued for every finished step at once.
_NEXT_STEPS = text("""
UPDATE background_jobs AS n
SET status = :queued, enqueued_at = now(), updated_at = now()
FROM background_jobs AS p
WHERE p.id = ANY(:ids) AND n.pipeline_id = p.pipeline_id
  AND n.pipeline_step = p.pipeline_step + 1 AND n.status = :deferred
RETURNING n.user_id
""")

_UUIDS = ARRAY(UUID(as_uuid=False))
_TEXTS = ARRAY(String())
_TYPES = {"ids": _UUIDS, "ats": ARRAY(Float()), "workers": _TEXTS, "stages": _TEXTS,
          "percents": ARRAY(Integer()), "results": _TEXTS, "allowed": _TEXTS}


def _typed(statement, *names: str):
    return statement.bindparams(*(bindparam(name, type_=_TYPES[name]) for name in names))


_STARTED = _typed(_STARTED, "ids", "ats", "workers", "allowed")
_PROGRESS = _typed(_PROGRESS, "ids", "percents", "stages")
_FINISHED = _typed(_FINISHED, "ids", "results", "ats", "allowed")
_NEXT_STEPS = _typed(_NEXT_STEPS, "ids")


def split(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the events to apply here, the rest in their order) of handed-over events."""
    ranks: dict[str, list[int]] = {}
    for event in events:
        ranks.setdefault(event["job_id"], []).append(_rank(event))
    simple = {job_id for job_id, seen in ranks.items()
              if -1 not in seen and seen == sorted(set(seen))}
    here = [event for event in events if event["job_id"] in simple]
    return here, [event for event in events if event["job_id"] not in simple]


def _rank(event: dict[str, Any]) -> int:
    """The event's rank in RANKS; -1 for one applied one at a time (or malformed)."""
    rank = RANKS.get(event["outcome"], -1)
    wanted = (2, 2, 1)[rank] if rank >= 0 else 0  # args a started, progress, finished has
    args = event.get("args")
    if rank < 0 or not isinstance(args, list) or len(args) != wanted or "at" not in event:
        return -1
    return rank


def apply(events: list[dict[str, Any]], refused: set[str] | None = None) -> list[str]:
    """Apply events that `split` kept, in the caller's transaction (not committed); returns
    the ids of the jobs that finished now (their owners' held jobs may go next).
    `refused` gets the ids of the jobs whose `started` changed nothing."""
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RANKS}
    for event in events:
        by_kind[event["outcome"]].append(event)
    owners: set[int] = set()
    if started := by_kind["started"]:
        rows = db.session.execute(_STARTED, {
            "ids": _ids(started), "ats": [e["args"][1] for e in started],
            "workers": [str(e["args"][0]) for e in started],
            "allowed": sorted(transitions.WAITING | {transitions.STARTED}),
            "started": transitions.STARTED}).all()
        owners.update(row.user_id for row in rows)
        if refused is not None:
            refused.update(set(_ids(started)) - {str(row.id) for row in rows})
    if progressed := by_kind["progress"]:
        owners.update(_run(_PROGRESS, ids=_ids(progressed),
                           percents=[int(e["args"][0]) for e in progressed],
                           stages=[e["args"][1] for e in progressed],
                           started=transitions.STARTED))
    ended = _finish(by_kind["finished"], owners)
    note_owners(db.session, owners)
    return ended


def _finish(events: list[dict[str, Any]], owners: set[int]) -> list[str]:
    if not events:
        return []
    rows = db.session.execute(_FINISHED, {
        "ids": _ids(events), "results": [_json(e["args"][0]) for e in events],
        "ats": [e["at"] for e in events], "allowed": sorted(transitions.ACTIVE_STATUSES),
        "finished": transitions.FINISHED}).all()
    owners.update(row.user_id for row in rows)
    if steps := [str(row.id) for row in rows if row.in_pipeline]:
        owners.update(_run(_NEXT_STEPS, ids=steps, queued=transitions.QUEUED,
                           deferred=transitions.DEFERRED))
    return [str(row.id) for row in rows]


def _run(statement, **params: Any) -> list[int]:
    return list(db.session.scalars(statement, params))


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["job_id"]) for e in events]


def _json(result: Any) -> str | None:
    """A result as JSON text; None stays SQL NULL, as the ORM's JSONB(none_as_null) does."""
    return None if result is None else json.dumps(result)
