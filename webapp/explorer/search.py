"""The explorer's queries: keyset pages, capped counts, and how each is planned.

Pages are keyset pages in the order created_at DESC, id DESC: the next page is the rows
after the last one's (created_at, id), so a deep page reads as few rows as the first (no
OFFSET), and rows inserted meanwhile neither repeat nor hide rows on later pages. Counts
stop at a cap, and one that reached it is remembered for a minute (webapp/explorer/counts.py).

A page is planned from its count, which comes first, so that no page reads much more than
it shows, whatever PostgreSQL estimates (its guesses for a word search or a stage prefix
are often far off, and a LIMIT bet on a wrong guess reads the whole table):

- "as is": a filter that one index yields in page order (none; or, for an admin, one
  status, task, queue, error code or owner, with created_at bounds) is left to PostgreSQL;
- "fetch all": when few jobs match (at most FENCE), the keys of them all are fetched through
  the indexes of their filters, then sorted (an OFFSET 0 subquery, which PostgreSQL plans as
  a whole rather than betting on the LIMIT), and the page's rows read by id;
- "walk": when many match, the rows are read newest first in chunks off the created_at
  index (a subquery with a LIMIT, which nothing can reorder) and tested: with at least
  FENCE matches among N rows, a page of 50 reads about 50 * N / FENCE rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    DateTime,
    Select,
    Uuid,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import aliased, defer, selectinload
from sqlalchemy.sql.util import ClauseAdapter

from webapp.explorer import counts
from webapp.explorer.cursor import Cursor, encode
from webapp.explorer.filters import JobFilter
from webapp.explorer.where import Where, where
from webapp.extensions import db
from webapp.models import BackgroundJob, User

J = BackgroundJob
FENCE = 10_000
PLANS = ("as is", "fetch all", "walk")
# What a page of the HTML explorer leaves unread: the big columns its rows never show
# (raising if a template reaches for one, rather than loading it row by row).
UNSHOWN = ("params", "result", "traceback")


@dataclass(frozen=True)
class Shape:
    """What of each job a listing reads: all its columns but `skip`, and its owner's email
    (`owners`, which only an admin's page shows). The API reads every column, no owner."""

    skip: tuple[str, ...] = ()
    owners: bool = False

    def options(self, source) -> list:
        found = [defer(getattr(source, name), raiseload=True) for name in self.skip]
        if self.owners:
            found.append(selectinload(source.user).load_only(User.email))
        return found


FULL = Shape()


def page_shape(viewer: User) -> Shape:
    """The HTML explorer's rows: no big columns; the owners when an admin looks."""
    return Shape(UNSHOWN, owners=viewer.is_admin)
CHUNK, MAX_CHUNK = 10_000, 160_000  # rows a walk reads at once: the first, and at most


def plan_for(selection: Where, count: int, capped: bool) -> str:
    """How to page through `selection`, which `count` jobs match."""
    if selection.in_order:
        return "as is"
    return "fetch all" if not capped and count <= FENCE else "walk"


def _after(stmt: Select, cursor: Cursor | None) -> Select:
    if cursor is None:
        return stmt
    key = tuple_(J.created_at, J.id)
    position = tuple_(literal(cursor.created_at, DateTime(timezone=True)),
                      literal(cursor.id, Uuid))
    return stmt.where(key < position if cursor.older else key > position)


def _order(source, newest_first: bool) -> tuple:
    if newest_first:
        return source.created_at.desc(), source.id.desc()
    return source.created_at, source.id


def _columns(source, names: tuple[str, ...]) -> list:
    return [getattr(source, name) for name in names] if names else [source]


def _select(names, selection: Where, cursor: Cursor | None, plan: str, limit: int):
    """The SELECT of one page ("as is" or "fetch all"), in list order after `cursor`.

    "fetch all" sorts the keys of every match (read off an index that holds the filtered
    columns where there is one: a user's own jobs) and reads only the page's rows."""
    newest_first = cursor is None or cursor.older
    stmt = _after(select(J).where(*selection.all), cursor)
    if plan == "fetch all":
        keys = _after(select(J.id, J.created_at).where(*selection.all), cursor).offset(0)
        matching = keys.subquery("matching")
        page = select(matching.c.id).order_by(*_order(matching.c, newest_first)).limit(limit)
        stmt = select(J).where(J.id.in_(page))
    stmt = stmt.with_only_columns(*_columns(J, names)).order_by(*_order(J, newest_first))
    return stmt.limit(limit), J


def _rows(names, selection: Where, cursor: Cursor | None, plan: str, limit: int,
          shape: Shape = FULL) -> list:
    """Up to `limit` matching rows after `cursor`, in list order: entities (read as
    `shape` says), or tuples of the columns `names`."""
    if plan == "walk":
        return _walk(names, selection, cursor, limit, shape)
    stmt, source = _select(names, selection, cursor, plan, limit)
    if not names:
        return list(db.session.scalars(stmt.options(*shape.options(source))))
    return list(db.session.execute(stmt))


def _walk(names, selection: Where, cursor: Cursor | None, limit: int,
          shape: Shape = FULL) -> list:
    """The "walk" plan: chunk after chunk of the viewer's rows, each tested."""
    newest_first = cursor is None or cursor.older
    found: list = []
    after, size = cursor, CHUNK
    while len(found) < limit:
        chunk = _after(select(J).where(*selection.bounds), after).order_by(
            *_order(J, newest_first)).limit(size).subquery("chunk")
        source = aliased(J, chunk)
        tests = [ClauseAdapter(chunk).traverse(t) for t in (*selection.hints, *selection.tests)]
        stmt = select(*_columns(source, names)).where(*tests).order_by(
            *_order(source, newest_first)).limit(limit - len(found))
        if not names:
            found += db.session.scalars(stmt.options(*shape.options(source)))
        else:
            found += db.session.execute(stmt)
        if len(found) >= limit or (edge := _edge(selection, after, size, newest_first)) is None:
            break
        after, size = Cursor(edge.created_at, edge.id, newest_first), min(size * 2, MAX_CHUNK)
    return found


def _edge(selection: Where, after: Cursor | None, size: int, newest_first: bool):
    """The last row of the chunk of `size` after `after`; None when the rows ran out."""
    stmt = _after(select(J.created_at, J.id).where(*selection.bounds), after)
    return db.session.execute(
        stmt.order_by(*_order(J, newest_first)).offset(size - 1).limit(1)).first()


@dataclass(frozen=True)
class KeysetPage:
    """One page of jobs, and the cursors of the pages after it (older) and before it."""

    items: list[BackgroundJob]
    next_cursor: str | None
    prev_cursor: str | None


def keyset_page(selection: Where, cursor: Cursor | None, per_page: int,
                plan: str = "as is", shape: Shape = FULL) -> KeysetPage:
    """The `per_page` jobs after (or before) `cursor`, newest first, read as `shape` says."""
    older = cursor is None or cursor.older
    rows = _rows((), selection, cursor, plan, per_page + 1, shape)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not older:
        rows.reverse()
    has_older = more if older else bool(rows)
    has_newer = (cursor is not None and bool(rows)) if older else more
    return KeysetPage(items=rows,
                      next_cursor=encode(rows[-1], older=True) if has_older else None,
                      prev_cursor=encode(rows[0], older=False) if has_newer else None)


@dataclass(frozen=True)
class Listing:
    """What the explorer shows: a page of the matching jobs and how many match."""

    filter: JobFilter
    page: KeysetPage
    count: int
    capped: bool  # more than `count` (the cap, EXPLORER_COUNT_CAP) match


def explore(viewer: User, job_filter: JobFilter, cursor: Cursor | None,
            per_page: int, shape: Shape = FULL) -> Listing:
    """A page of the jobs that match, after `cursor`, and their (capped) count; each job
    read as `shape` says."""
    # Parallel workers take longer to start than these reads take (SET LOCAL: this
    # transaction only, which a transaction pooler allows).
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    selection = where(job_filter, viewer)
    cap = current_app.config["EXPLORER_COUNT_CAP"]
    memory = counts.key(viewer, job_filter, cap)
    if counts.was_capped(memory):
        count, capped = cap, True
    else:
        count, capped = counts.capped_count(selection.all, cap)
        if capped:
            counts.remember(memory)
    page = keyset_page(selection, cursor, per_page, plan_for(selection, count, capped), shape)
    if capped and cursor is None and page.next_cursor is None and len(page.items) <= cap:
        # Remembered, but every match is on this one page (a bulk delete since).
        count, capped = len(page.items), False
        counts.forget(memory)
    return Listing(job_filter, page, count, capped)


def matching_ids(selection: Where, after: Cursor | None, batch: int,
                 plan: str) -> list[tuple[uuid.UUID, datetime]]:
    """The next `batch` (id, created_at) pairs in list order after `after`: how a bulk
    action walks a selection of any size."""
    return [(row.id, row.created_at)
            for row in _rows(("id", "created_at"), selection, after, plan, batch)]
