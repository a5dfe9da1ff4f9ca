"""Per-user limits, so that no one can crowd everyone else out.

Each limit has a configured default (USER_MAX_RUNNING, USER_MAX_WAITING, USER_SUBMIT_RATE,
USER_MAX_PROJECTS, USER_MAX_RENDER_SECONDS) that an admin can raise (or lower) for one user;
a user's own value is stored on their row, None meaning the default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from flask import current_app
from sqlalchemy import Integer, bindparam, func, select

from webapp.extensions import db
from webapp.models import User
from webapp.ratelimit import get_limits, parse_limit
from webapp.validation import ParamsError

# Names as people, the API and the users table know them.
LIMITS = {
    "max_running_jobs": ("USER_MAX_RUNNING", "jobs running at once"),
    "max_waiting_jobs": ("USER_MAX_WAITING", "jobs waiting"),
    "submit_rate": ("USER_SUBMIT_RATE", "jobs started per time window"),
    "max_projects": ("USER_MAX_PROJECTS", "projects"),
    "max_render_seconds": ("USER_MAX_RENDER_SECONDS", "seconds of narration per render"),
}
MAX_INT_LIMIT = 1_000_000
LOCK_NAMESPACE = 8701  # pg_advisory_xact_lock(namespace, user id)


class QuotaExceeded(Exception):
    """A request would pass one of the user's limits (HTTP 429); says which and how long to
    wait (`retry_after` seconds; None when waiting alone will not help)."""

    def __init__(self, limit: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quotas:
    """The limits that apply to one user."""

    max_running_jobs: int
    max_waiting_jobs: int
    submit_rate: str
    max_projects: int
    max_render_seconds: int


def defaults() -> Quotas:
    config = current_app.config
    return Quotas(**{name: config[key] for name, (key, _) in LIMITS.items()})


def quotas_for(user: User) -> Quotas:
    """The user's own limits where an admin set them, else the defaults."""
    own = {f.name: getattr(user, f.name) for f in fields(Quotas)
           if getattr(user, f.name, None) is not None}
    return replace(defaults(), **own)


_LOCK = select(func.pg_advisory_xact_lock(LOCK_NAMESPACE, bindparam("user_id", type_=Integer)))


def lock_user(user_id: int) -> None:
    """Serialize one user's limit checks and the inserts they guard, until this transaction
    ends: of parallel requests, no more get in than the limit allows."""
    db.session.execute(_LOCK, {"user_id": user_id})


def check_submit_rate(user: User, count: int = 1) -> None:
    """Count `count` submissions against the user's rate; QuotaExceeded when over it."""
    rate = quotas_for(user).submit_rate
    refusal = get_limits().hit(rate, "submit", str(user.id), cost=count)
    if refusal is not None:
        raise QuotaExceeded(
            "submit_rate", f"You are starting jobs too fast: at most {rate}. Try again in "
            f"{refusal.retry_after} s.", refusal.retry_after)


def parse_overrides(data: dict) -> dict:
    """Validate an admin's {limit: value-or-null}; returns the values to store.

    Raises ParamsError naming each field that is unknown or out of range.
    """
    if not isinstance(data, dict):
        raise ParamsError([{"field": "limits", "message": "Must be an object."}])
    problems, values = [], {}
    for name, value in data.items():
        if name not in LIMITS:
            problems.append({"field": f"limits.{name}", "message": "Unknown limit."})
        elif value is None or value == "":
            values[name] = None
        elif name == "submit_rate":
            try:
                parse_limit(str(value))
                values[name] = str(value).strip()[:64]
            except ValueError:
                problems.append({"field": f"limits.{name}", "message":
                                 "A rate such as '60 per minute' or '500 per hour'."})
        elif (isinstance(value, int) and not isinstance(value, bool)
              and 0 <= value <= MAX_INT_LIMIT):
            values[name] = value
        elif isinstance(value, str) and value.strip().isdigit() and \
                int(value) <= MAX_INT_LIMIT:
            values[name] = int(value)
        else:
            problems.append({"field": f"limits.{name}", "message":
                             f"A whole number from 0 to {MAX_INT_LIMIT:,}, or empty for the "
                             "default."})
    if problems:
        raise ParamsError(problems)
    return values


def own_limits(user: User) -> dict[str, int | str | None]:
    """The limits an admin set for this user (None: the default applies)."""
    return {name: getattr(user, name) for name in LIMITS}


def set_limits(user: User, values: dict) -> dict:
    """Store validated overrides (see parse_overrides); flushes, the caller commits.
    Returns what changed, {name: [old, new]}."""
    changed = {}
    for name, value in values.items():
        if getattr(user, name) != value:
            changed[name] = [getattr(user, name), value]
            setattr(user, name, value)
    db.session.flush()
    return changed
