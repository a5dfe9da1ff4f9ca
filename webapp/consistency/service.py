"""How far PostgreSQL and RQ agree: read from the reconciler's history, and Redis for the
outcome backlog.

Everything here is cheap at any number of job rows: the doctor's numbers come from the
newest row of `reconciler_passes` (computed at the end of each pass, or by "check now"),
the repairs from the passes of the last 24 h that repaired something (a partial index), and
the backlog is one LLEN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select, text
from sqlalchemy.orm import defer

from webapp.extensions import db
from webapp.jobs import doctor, history, pending_outcomes
from webapp.jobs.connection import get_redis
from webapp.models import ReconcilerPass

STALE_AFTER_INTERVALS = 3  # the reconciler is stale once its last pass is this many old
REPAIRS_PERIOD = timedelta(hours=24)
REDIS_RETRY_SECONDS = 10.0
_REDIS_FAILED = "cutroom.consistency.redis_failed_at"
_REPAIRING = text("repairs <> '{}'::jsonb")  # spelled as ix_reconciler_passes_repairing is


@dataclass(frozen=True)
class Status:
    """The numbers the banner needs: the newest check, the newest pass, the backlog."""

    now: datetime
    interval: float  # RECONCILE_INTERVAL, seconds
    check: ReconcilerPass | None  # newest row: a pass, or an admin's "check now"
    last_pass: ReconcilerPass | None  # newest pass of the reconciler itself
    backlog: int | None  # outcomes waiting in Redis for PostgreSQL; None: Redis unreachable

    @property
    def stale_after(self) -> float:
        return self.interval * STALE_AFTER_INTERVALS

    @property
    def age(self) -> float | None:
        """Seconds since the last pass ended."""
        if self.last_pass is None:
            return None
        return max((self.now - self.last_pass.ended_at).total_seconds(), 0.0)

    @property
    def age_delta(self) -> timedelta | None:
        return None if self.age is None else timedelta(seconds=self.age)

    @property
    def stale(self) -> bool:
        return self.age is None or self.age > self.stale_after

    @property
    def disagreements(self) -> int | None:
        """Rows (and RQ jobs) that disagree, as of the newest check; None: not known."""
        return self.check.disagreements if self.check is not None else None

    @property
    def check_failed(self) -> bool:
        return self.check is not None and self.check.disagreements is None

    @property
    def alarming(self) -> bool:
        """Whether admins see the banner."""
        return bool(self.disagreements or self.backlog or self.backlog is None
                    or self.stale or self.check_failed)


@dataclass(frozen=True)
class Panel:
    """Everything the consistency panel shows."""

    status: Status
    since: datetime
    repairs: dict[str, int] = field(default_factory=dict)  # by kind, housekeeping left out
    housekeeping: dict[str, int] = field(default_factory=dict)

    @property
    def total_repairs(self) -> int:
        return sum(self.repairs.values())


def newest(automatic_only: bool = False) -> ReconcilerPass | None:
    """The newest row of the history (of the reconciler's own passes only, if asked)."""
    stmt = select(ReconcilerPass).options(defer(ReconcilerPass.sample))
    if automatic_only:
        stmt = stmt.where(ReconcilerPass.manual.is_(False))
    return db.session.scalar(stmt.order_by(ReconcilerPass.ended_at.desc()).limit(1))


def backlog() -> int | None:
    """Outcomes waiting in Redis for PostgreSQL; None when Redis does not answer. After a
    failure this app does not ask again for REDIS_RETRY_SECONDS, so while Redis hangs an
    admin's every page does not wait out the client's timeout for its banner."""
    failed_at = current_app.extensions.get(_REDIS_FAILED)
    if failed_at is not None and time.monotonic() - failed_at < REDIS_RETRY_SECONDS:
        return None
    try:
        count = pending_outcomes.pending()
    except RedisError:
        current_app.extensions[_REDIS_FAILED] = time.monotonic()
        return None
    current_app.extensions.pop(_REDIS_FAILED, None)
    return count


def status() -> Status:
    """The status now: two index lookups and one LLEN (PostgreSQL errors propagate)."""
    outcome_backlog = backlog()
    check = newest()
    last_pass = check if check is not None and not check.manual else newest(True)
    return Status(datetime.now(UTC), float(current_app.config["RECONCILE_INTERVAL"]), check,
                  last_pass, outcome_backlog)


def repairs_since(since: datetime) -> dict[str, int]:
    """Repairs by kind in the passes that ended after `since`, most first."""
    pair = func.jsonb_each_text(ReconcilerPass.repairs).table_valued("key", "value")
    total = func.sum(pair.c.value.cast(db.BigInteger))
    rows = db.session.execute(
        select(pair.c.key, total).select_from(ReconcilerPass).join(pair, text("true"))
        .where(ReconcilerPass.ended_at > since, _REPAIRING)
        .group_by(pair.c.key)).all()
    return dict(sorted(((k, int(v)) for k, v in rows), key=lambda kv: (-kv[1], kv[0])))


def panel() -> Panel:
    """The panel's numbers."""
    now = status()
    since = now.now - REPAIRS_PERIOD
    counts = repairs_since(since)
    return Panel(now, since,
                 {k: v for k, v in counts.items() if k not in history.HOUSEKEEPING},
                 {k: v for k, v in counts.items() if k in history.HOUSEKEEPING})


def check_now() -> ReconcilerPass:
    """Run the doctor now (bounded by webapp.jobs.doctor.LIMIT) and record its findings as a
    manual row; flushed, the caller commits."""
    now = datetime.now(UTC)
    return history.record(get_redis(), now, {}, manual=True)


def to_dict(view: Panel) -> dict[str, Any]:
    """The panel's numbers as the API answers them."""
    state, check, last = view.status, view.status.check, view.status.last_pass
    return {
        "disagreements": {
            "count": state.disagreements,
            "by_kind": dict(check.problems) if check else {},
            "jobs": [{**f, "problem": doctor.PROBLEMS[f["kind"]]} for f in check.sample]
                    if check else [],
            "checked_at": _iso(check.ended_at if check else None),
            "manual": bool(check and check.manual),
            "error": check.check_error if check else None,
        },
        "repairs": {"since": _iso(view.since), "total": view.total_repairs,
                    "by_kind": view.repairs, "housekeeping": view.housekeeping},
        "outcome_backlog": state.backlog,
        "reconciler": {
            "last_pass_started_at": _iso(last.started_at if last else None),
            "last_pass_ended_at": _iso(last.ended_at if last else None),
            "age_seconds": None if state.age is None else round(state.age, 1),
            "interval_seconds": state.interval,
            "stale_after_seconds": state.stale_after,
            "stale": state.stale,
            "broke_off": last.broke_off if last else None,
        },
        "warning": state.alarming,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
