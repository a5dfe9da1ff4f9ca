"""Jobs that ended, counted for the metrics: per time bucket, task and queue, how many
finished and failed, and histograms of their wait (queued to started) and run (started to
ended) seconds in the bins of webapp/histogram.py.

Short spans are counted from background_jobs itself, index-only (ix_background_jobs_ended).
For long windows the reconciler keeps an hourly rollup (job_metrics_hourly): each pass rolls
up the complete hours since the last one it rolled up, once they are SETTLE old, going back
at most HORIZON, and marks the last hour of each pass with a row of no task (MARK), so the
rollup knows where it got to through quiet hours too. The rollup records what happened: a
failure later retried stays counted, and rows the retention deletes stay in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from webapp import histogram
from webapp.extensions import db
from webapp.models import FAILED, FINISHED, JobMetricsHour

HOUR = timedelta(hours=1)
HORIZON = timedelta(days=8)  # the longest window (7 d) and one bucket to spare
SETTLE = timedelta(minutes=5)  # ended_at is the ending transaction's now(): seconds late
HOURS_PER_PASS = 24  # a week's backlog takes a few passes, each statement stays short
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)  # buckets are aligned to UTC midnight
MARK = ""  # the task and queue of the row that says "rolled up to the end of this hour"

# Both histograms in one index-only pass: each job gives a wait row and a run row.
_ENDED = text("""
SELECT date_bin(:step, j.ended_at, :origin) AS bucket, j.task, j.queue, j.status,
       v.kind, width_bucket(v.seconds, :bounds) AS bin, count(*) AS n,
       coalesce(sum(v.seconds), 0) AS total
FROM background_jobs AS j,
LATERAL (VALUES
    ('wait', extract(epoch FROM j.started_at - coalesce(j.enqueued_at, j.created_at))::float8),
    ('run', extract(epoch FROM j.ended_at - j.started_at)::float8)) AS v(kind, seconds)
WHERE j.ended_at >= :since AND j.ended_at < :until AND j.status IN (:finished, :failed)
GROUP BY 1, 2, 3, 4, 5, 6
""")
# Plain SQL: psycopg reads the arrays as lists at C speed; SQLAlchemy's ARRAY type would
# process each item again in Python (a third of a 7 d chart's time).
_ROLLED = text("""
SELECT hour, task, queue, finished, failed, wait_counts, run_counts, wait_sum, run_sum
FROM job_metrics_hourly WHERE hour >= :since AND hour < :until AND task != :mark
""")


@dataclass
class Cell:
    """Jobs of one task and queue that ended in one bucket."""

    bucket: datetime
    task: str
    queue: str
    finished: int = 0
    failed: int = 0
    wait: list[int] = field(default_factory=histogram.empty)
    run: list[int] = field(default_factory=histogram.empty)
    wait_sum: float = 0.0
    run_sum: float = 0.0

    def add(self, other: Cell) -> None:
        self.finished += other.finished
        self.failed += other.failed
        histogram.add_into(self.wait, other.wait)
        histogram.add_into(self.run, other.run)
        self.wait_sum += other.wait_sum
        self.run_sum += other.run_sum


def floor(moment: datetime, step: timedelta) -> datetime:
    """The start of the bucket of `step` (aligned to ORIGIN) that `moment` falls in."""
    return ORIGIN + (moment - ORIGIN) // step * step


def ended_cells(since: datetime, until: datetime, step: timedelta) -> list[Cell]:
    """Jobs that finished or failed in [since, until), per bucket of `step`, task, queue."""
    if until <= since:
        return []
    rows = db.session.execute(_ENDED, {
        "step": step, "origin": ORIGIN, "since": since, "until": until,
        "bounds": list(histogram.BOUNDS), "finished": FINISHED, "failed": FAILED})
    cells: dict[tuple, Cell] = {}
    for bucket, task, queue, status, kind, bin_, n, total in rows:
        cell = cells.get((bucket, task, queue))
        if cell is None:
            cell = cells[(bucket, task, queue)] = Cell(bucket, task, queue)
        if kind == "run":  # one run row per job: count the job once
            if status == FINISHED:
                cell.finished += n
            else:
                cell.failed += n
        if bin_ is not None:  # never started (enqueue_failed): counted, but no durations
            getattr(cell, kind)[bin_] += n
            setattr(cell, f"{kind}_sum", getattr(cell, f"{kind}_sum") + total)
    return list(cells.values())


def rolled_cells(since: datetime, until: datetime) -> list[Cell]:
    """The rollup's hours in [since, until)."""
    rows = db.session.execute(_ROLLED, {"since": since, "until": until, "mark": MARK})
    return [Cell(*row) for row in rows]


def rolled_up_to() -> datetime | None:
    """The end of the last hour rolled up (every hour before it is in the rollup), or None."""
    last = db.session.scalar(select(func.max(JobMetricsHour.hour)))
    return None if last is None else last + HOUR


def roll_up(now: datetime) -> int:
    """Roll up the complete, settled hours not rolled up yet (at most HOURS_PER_PASS, none
    older than HORIZON) and forget hours past HORIZON; returns the hours rolled up. The
    caller commits."""
    oldest = floor(now - HORIZON, HOUR)
    start = max(rolled_up_to() or oldest, oldest)
    end = min(floor(now - SETTLE, HOUR), start + HOURS_PER_PASS * HOUR)
    db.session.execute(delete(JobMetricsHour).where(JobMetricsHour.hour < oldest))
    if end <= start:
        return 0
    cells = [*ended_cells(start, end, HOUR), Cell(end - HOUR, MARK, MARK)]
    db.session.execute(insert(JobMetricsHour).on_conflict_do_nothing(), [
        {"hour": c.bucket, "task": c.task, "queue": c.queue, "finished": c.finished,
         "failed": c.failed, "wait_counts": c.wait, "run_counts": c.run,
         "wait_sum": c.wait_sum, "run_sum": c.run_sum} for c in cells])
    return int((end - start) / HOUR)
