"""The reconciler's history in PostgreSQL: one row per pass with its repairs by kind and what
the doctor found right after it.

So "repaired in the last 24 h" survives a Redis restart and is one indexed query, and the
consistency panel and the admins' banner read the doctor's (expensive) numbers from one row
instead of scanning rows and RQ on every page. An admin's "check now" adds a `manual` row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from webapp.extensions import db
from webapp.jobs import doctor
from webapp.models import ReconcilerPass

log = logging.getLogger(__name__)

HISTORY_DAYS = 30  # rows older than this are pruned with the job rows (webapp/jobs/retention.py)
SAMPLE = 50  # disagreeing jobs kept per row, for the panel to list
# A finding must still hold this many seconds later to count: a worker's write on its way
# (RQ already says started, the row still says queued) is not a disagreement.
SETTLE_SECONDS = 1.0
# Counted by the reconciler, but housekeeping rather than repairs (retention).
HOUSEKEEPING = frozenset({"pruned", "sessions_pruned"})


def check(redis: Redis) -> dict:
    """The doctor's findings now, as ReconcilerPass columns; a check that could not run
    (Redis or PostgreSQL unreachable) is recorded as such, never raised."""
    try:
        findings = doctor.diagnose(redis)
        if findings:
            time.sleep(SETTLE_SECONDS)
            findings = doctor.recheck(redis, findings)
    except (RedisError, DBAPIError) as exc:
        db.session.rollback()
        log.warning("consistency check failed: %s", exc)
        return {"disagreements": None, "problems": {}, "sample": [],
                "check_error": f"{type(exc).__name__}: {exc}"[:200]}
    problems: dict[str, int] = {}
    for finding in findings:
        problems[finding.kind] = problems.get(finding.kind, 0) + 1
    return {"disagreements": len(findings), "problems": problems,
            "sample": [asdict(f) for f in findings[:SAMPLE]], "check_error": None}


def record(redis: Redis, started_at: datetime, repairs: Mapping[str, int], *,
           broke_off: str | None = None, manual: bool = False) -> ReconcilerPass:
    """Add the row of a pass (or, `manual`, of a check alone) with the doctor's findings now;
    flushed, the caller commits."""
    found = check(redis)
    row = ReconcilerPass(started_at=started_at, ended_at=datetime.now(UTC), manual=manual,
                         repairs={k: v for k, v in sorted(repairs.items()) if v},
                         broke_off=broke_off, **found)
    db.session.add(row)
    db.session.flush()
    return row


def prune(now: datetime) -> int:
    """Delete history older than HISTORY_DAYS; how many rows went."""
    before = now - timedelta(days=HISTORY_DAYS)
    return db.session.execute(
        delete(ReconcilerPass).where(ReconcilerPass.ended_at < before)).rowcount
