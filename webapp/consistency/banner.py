"""The warning admins see on every page while PostgreSQL and RQ disagree, outcomes wait for
PostgreSQL, or the reconciler is stale (templates/_consistency_banner.html).

Cheap (two index lookups and one LLEN, once per request) and it never fails a page: when
PostgreSQL or Redis cannot answer, the banner says the check itself failed.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, g
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from webapp.consistency import service
from webapp.extensions import db
from webapp.templating import relative_age

log = logging.getLogger(__name__)

_CACHE = "consistency_warnings"


def warnings(state: service.Status) -> list[str]:
    """What is wrong, one short phrase each; [] when all is well."""
    found = []
    if state.disagreements:
        found.append(_count(state.disagreements, "row disagrees", "rows disagree")
                     + " with RQ")
    if state.check_failed:
        found.append("the last consistency check could not run")
    if state.backlog is None:
        found.append("the outcome backlog cannot be read (Redis does not answer)")
    elif state.backlog:
        found.append(_count(state.backlog, "outcome waits", "outcomes wait")
                     + " in Redis for PostgreSQL")
    if state.last_pass is None:
        found.append("the reconciler has never run")
    elif state.stale:
        found.append(f"the reconciler last ran {relative_age(state.last_pass.ended_at)}")
    return found


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def banner_warnings() -> list[str]:
    """The banner's phrases for this request: none for anyone but an admin."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return []
    if _CACHE not in g:
        setattr(g, _CACHE, _compute())
    return getattr(g, _CACHE)


def _compute() -> list[str]:
    try:
        return warnings(service.status())
    except SQLAlchemyError as exc:
        log.warning("consistency banner: PostgreSQL did not answer: %s", exc)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return ["the consistency check itself failed (PostgreSQL does not answer)"]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["consistency_warnings"] = banner_warnings
