"""/metrics in the Prometheus text format, computed at scrape time.

Every number comes from PostgreSQL or Redis when the scrape arrives, none from the process
that answers it, so any gunicorn process (of any machine) gives the same answer and no
multiprocess mode is needed. Off (404) unless METRICS_TOKEN is set; then the scraper sends
`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). No session, no CSRF.

PostgreSQL stays cheap at a million rows: non-final jobs are few (they are counted whole);
ended ones are counted only over the last 24 hours, from the index over ended_at.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from flask import Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from webapp import histogram
from webapp.extensions import db
from webapp.jobs import reconcile, rollup
from webapp.jobs.connection import get_queue, get_redis
from webapp.jobs.registry import queue_names
from webapp.metrics import bp
from webapp.models import ACTIVE_STATUSES, CREATED, FINAL_STATUSES, QUEUED, BackgroundJob

# Prometheus buckets: every fourth bound of the fine bins (powers of two from 10 ms).
LE_INDEXES = tuple(range(0, len(histogram.BOUNDS), histogram.STEPS_PER_DOUBLING))
RECENT = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}

J = BackgroundJob


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus metrics; 404 while METRICS_TOKEN is unset, 401 without it."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(secret.strip().encode(),
                                                             token.encode()):
        return Response("Send 'Authorization: Bearer <METRICS_TOKEN>'.\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    registry = CollectorRegistry()
    registry.register(Collector(datetime.now(UTC)))
    return Response(generate_latest(registry), headers={"Cache-Control": "no-store"},
                    content_type=CONTENT_TYPE_LATEST)


class Collector:
    """One scrape's metrics (a prometheus_client custom collector)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("cutroom_source_up", "1 if this scrape could read the source "
                               "(its metrics are missing otherwise).", labels=["source"])
        for source, part in (("postgresql", self.from_postgresql),
                             ("redis", self.from_redis)):
            try:
                families = list(part())
            except (DBAPIError, RedisError):
                db.session.rollback()
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up

    def from_postgresql(self) -> Iterator[Metric]:
        yield self.active_jobs()
        yield self.ended_jobs()
        yield self.oldest_waiting()
        cells = rollup.ended_cells(self.now - RECENT["1h"], self.now, timedelta(days=1))
        yield _histogram("cutroom_job_wait_seconds", "Queue wait (queued to started) of the "
                         "jobs that finished or failed in the last hour, by task.", cells,
                         "wait")
        yield _histogram("cutroom_job_run_seconds", "Run time (started to ended) of the jobs "
                         "that finished or failed in the last hour, by task.", cells, "run")

    def active_jobs(self) -> Metric:
        family = GaugeMetricFamily("cutroom_jobs", "Jobs in each non-final status now.",
                                   labels=["status", "task"])
        rows = db.session.execute(select(J.status, J.task, func.count())
                                  .where(J.status.in_(sorted(ACTIVE_STATUSES)))
                                  .group_by(J.status, J.task))
        for status, task, n in rows:
            family.add_metric([status, task], n)
        return family

    def ended_jobs(self) -> Metric:
        family = GaugeMetricFamily("cutroom_jobs_ended", "Jobs that reached each final "
                                   "status in the last hour or day (window).",
                                   labels=["status", "task", "window"])
        last_hour = func.count().filter(J.ended_at >= self.now - RECENT["1h"])
        rows = db.session.execute(select(J.status, J.task, last_hour, func.count())
                                  .where(J.ended_at >= self.now - RECENT["24h"],
                                         J.status.in_(sorted(FINAL_STATUSES)))
                                  .group_by(J.status, J.task))
        for status, task, hour, day in rows:
            family.add_metric([status, task, "1h"], hour)
            family.add_metric([status, task, "24h"], day)
        return family

    def oldest_waiting(self) -> Metric:
        family = GaugeMetricFamily("cutroom_oldest_waiting_seconds", "Age of the oldest "
                                   "job waiting for a worker (created or queued, held ones "
                                   "too), by queue; 0 when none waits.", labels=["queue"])
        since = func.min(func.coalesce(J.enqueued_at, J.created_at))
        oldest = dict(db.session.execute(select(J.queue, since)
                                         .where(J.status.in_((CREATED, QUEUED)))
                                         .group_by(J.queue)).all())
        for queue in sorted({*queue_names(), *oldest}):
            since = oldest.get(queue)
            family.add_metric([queue], max(0.0, (self.now - since).total_seconds())
                              if since else 0.0)
        return family

    def from_redis(self) -> Iterator[Metric]:
        redis = get_redis()
        depth = GaugeMetricFamily("cutroom_queue_depth", "Jobs in RQ's queue, waiting for "
                                  "a worker.", labels=["queue"])
        for name in queue_names():
            depth.add_metric([name], get_queue(name, redis).count)
        yield depth
        workers = GaugeMetricFamily("cutroom_workers", "Live RQ workers, by state.",
                                    labels=["state"])
        states: dict[str, int] = {"busy": 0, "idle": 0}
        for worker in Worker.all(connection=redis):
            state = str(worker.get_state())
            states[state] = states.get(state, 0) + 1
        for state, n in sorted(states.items()):
            workers.add_metric([state], n)
        yield workers
        repairs = CounterMetricFamily("cutroom_reconciler_repairs", "Repairs the reconciler "
                                      "made, by kind, since Redis was last emptied.",
                                      labels=["kind"])
        for kind, n in reconcile.counters().items():
            repairs.add_metric([kind], n)
        yield repairs


def _histogram(name: str, documentation: str, cells, kind: str) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=["task"])
    by_task: dict[str, list[int]] = {}
    sums: dict[str, float] = {}
    for cell in cells:
        histogram.add_into(by_task.setdefault(cell.task, histogram.empty()),
                           getattr(cell, kind))
        sums[cell.task] = sums.get(cell.task, 0.0) + getattr(cell, f"{kind}_sum")
    for task, counts in sorted(by_task.items()):
        cumulative, buckets = 0, []
        for index in range(len(counts)):
            cumulative += counts[index]
            if index in LE_INDEXES:
                buckets.append((repr(histogram.BOUNDS[index]), cumulative))
        buckets.append(("+Inf", cumulative))
        family.add_metric([task], buckets, sum_value=sums[task])
    return family
