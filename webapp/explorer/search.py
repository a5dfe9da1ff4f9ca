"""The explorer's SQL: a filter's WHERE clause for one viewer, keyset pages, capped counts.

Pages are keyset pages in the order created_at DESC, id DESC: the next page is the rows
after the last one's (created_at, id), so a deep page reads as few rows as the first (no
OFFSET), and rows inserted meanwhile neither repeat nor hide rows on later pages. Counts
stop at a cap (`SELECT count(*) FROM (SELECT 1 ... LIMIT cap + 1)`) so that a count is
never a scan of a million rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Uuid,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import selectinload

from webapp.explorer.cursor import Cursor, encode
from webapp.explorer.filters import JobFilter
from webapp.extensions import db
from webapp.models import BackgroundJob, User
from webapp.models.job import SEARCH_VECTOR, SIMPLE

J = BackgroundJob
HEX = frozenset("0123456789abcdef")


def conditions(job_filter: JobFilter, viewer: User) -> list[ColumnElement[bool]]:
    """The WHERE clause: the viewer's jobs (everyone's for an admin), then each filter."""
    f = job_filter
    where: list[ColumnElement[bool]] = [] if viewer.is_admin else [J.user_id == viewer.id]
    if f.user is not None:
        # Someone else's email leaves a non-admin with nothing: their own jobs are not theirs.
        owner = select(User.id).where(User.email == f.user.lower()).scalar_subquery()
        where.append(J.user_id == owner)
    if f.status:
        where.append(J.status == f.status[0] if len(f.status) == 1 else J.status.in_(f.status))
    for column, value in ((J.task, f.task), (J.queue, f.queue), (J.project_id, f.project_id),
                          (J.error_code, f.error_code)):
        if value is not None:
            where.append(column == value)
    if f.stage is not None:
        where.append(func.lower(J.stage).like(_escape(f.stage.lower()) + "%", escape="\\"))
    where += _between(J.created_at, f.created_after, f.created_before)
    where += _between(J.ended_at, f.ended_after, f.ended_before)
    if f.q is not None:
        where.append(search(f.q))
    return where


def _between(column, after, before) -> list[ColumnElement[bool]]:
    found = []
    if after is not None:
        found.append(column >= after)
    if before is not None:
        found.append(column < before)
    return found


def _escape(text: str) -> str:
    """`text` for a LIKE pattern, its wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(q: str) -> ColumnElement[bool]:
    """Every word of `q` starts a word of the error message or of a parameter value (in any
    case), or `q` starts the job's id."""
    found = []
    if (words := prefix_query(q)) is not None:
        found.append(SEARCH_VECTOR.op("@@")(func.to_tsquery(SIMPLE, words)))
    if (ids := id_range(q)) is not None:
        found.append(J.id.between(*ids))
    return or_(*found) if found else false()


def prefix_query(q: str) -> str | None:
    """`q`'s words as a tsquery of prefixes ('narr':* & 'serv':*), split by PostgreSQL's
    own parser, the one that made the index; None when it has no words."""
    words = db.session.scalar(select(func.tsvector_to_array(func.to_tsvector(SIMPLE, q))))
    if not words:
        return None
    return " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)


def id_range(q: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The lowest and highest ids that start with `q` (dashes optional), if it can start one:
    a range on the primary key, where a text prefix of the id would read every row."""
    digits = q.replace("-", "").lower()
    if not digits or len(digits) > 32 or not set(digits) <= HEX:
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


@dataclass(frozen=True)
class KeysetPage:
    """One page of jobs, and the cursors of the pages after it (older) and before it."""

    items: list[BackgroundJob]
    next_cursor: str | None
    prev_cursor: str | None


def keyset_page(where: list[ColumnElement[bool]], cursor: Cursor | None,
                per_page: int) -> KeysetPage:
    """The `per_page` jobs after (or before) `cursor`, newest first."""
    older = cursor is None or cursor.older
    stmt = _after(select(J).where(*where), cursor).options(selectinload(J.user))
    order = (J.created_at.desc(), J.id.desc()) if older else (J.created_at, J.id)
    rows = list(db.session.scalars(stmt.order_by(*order).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not older:
        rows.reverse()
    has_older = more if older else bool(rows)
    has_newer = (cursor is not None and bool(rows)) if older else more
    return KeysetPage(items=rows,
                      next_cursor=encode(rows[-1], older=True) if has_older else None,
                      prev_cursor=encode(rows[0], older=False) if has_newer else None)


def _after(stmt: Select, cursor: Cursor | None) -> Select:
    if cursor is None:
        return stmt
    key = tuple_(J.created_at, J.id)
    position = tuple_(literal(cursor.created_at, DateTime(timezone=True)),
                      literal(cursor.id, Uuid))
    return stmt.where(key < position if cursor.older else key > position)


@dataclass(frozen=True)
class Listing:
    """What the explorer shows: a page of the matching jobs and how many match."""

    filter: JobFilter
    page: KeysetPage
    count: int
    capped: bool  # more than `count` (the cap, EXPLORER_COUNT_CAP) match


def explore(viewer: User, job_filter: JobFilter, cursor: Cursor | None,
            per_page: int) -> Listing:
    """A page of the jobs that match, after `cursor`, and their (capped) count."""
    where = conditions(job_filter, viewer)
    count, capped = capped_count(where, current_app.config["EXPLORER_COUNT_CAP"])
    return Listing(job_filter, keyset_page(where, cursor, per_page), count, capped)


def capped_count(where: list[ColumnElement[bool]], cap: int) -> tuple[int, bool]:
    """(how many jobs match, True if more than `cap` do: then the count is `cap`)."""
    inner = select(literal(1)).select_from(J).where(*where).limit(cap + 1).subquery()
    found = db.session.scalar(select(func.count()).select_from(inner)) or 0
    return (cap, True) if found > cap else (found, False)


def matching_ids(where: list[ColumnElement[bool]], after: Cursor | None,
                 batch: int) -> list[tuple[uuid.UUID, datetime]]:
    """The next `batch` (id, created_at) pairs in list order after `after`: how a bulk
    action walks a selection of any size."""
    stmt = _after(select(J.id, J.created_at).where(*where), after)
    return [(row.id, row.created_at) for row in db.session.execute(
        stmt.order_by(J.created_at.desc(), J.id.desc()).limit(batch))]
