"""A filter as SQL, for one viewer: the bounds (who may see what, and the created_at
range), the tests (every other filter), and cheap hints for the search.

The kinds are kept apart because webapp/explorer/search.py plans with them: a walk reads
the rows within the bounds newest first, off the created_at index, and applies the hints
and the tests to each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)

from webapp.explorer.filters import JobFilter
from webapp.extensions import db
from webapp.models import BackgroundJob, User
from webapp.models.job import SEARCH_VECTOR, SIMPLE

J = BackgroundJob
HEX = frozenset("0123456789abcdef")
# Filters each served, newest first, by an index of their own (column, created_at, id).
IN_ORDER = ("task", "queue", "error_code", "user")


@dataclass(frozen=True)
class Where:
    """`bounds`: the viewer's scope and created_at ranges; `tests`: every other filter;
    `in_order`: an index yields the matching rows already in page order; `hints`: cheap
    tests that every match passes, for a walk to skip most rows before the dear ones."""

    bounds: list[ColumnElement[bool]]
    tests: list[ColumnElement[bool]]
    in_order: bool
    hints: list[ColumnElement[bool]] = field(default_factory=list)

    @property
    def all(self) -> list[ColumnElement[bool]]:
        return [*self.bounds, *self.tests]


def where(job_filter: JobFilter, viewer: User) -> Where:
    """The viewer's jobs (everyone's for an admin) that match the filter."""
    f = job_filter
    bounds = [] if viewer.is_admin else [J.user_id == viewer.id]
    bounds += _between(J.created_at, f.created_after, f.created_before)
    if f.ended_before is not None:
        bounds.append(J.created_at < f.ended_before)  # no job ends before it is created
    words = _words(f.q) if f.q is not None else []
    tests = _tests(f, words)
    chosen = [name for name in ("status", *IN_ORDER) if getattr(f, name)]
    in_order = (not tests or (viewer.is_admin and len(tests) == 1 and len(chosen) == 1
                              and len(f.status) <= 1))
    return Where(bounds, tests, in_order,
                 [search_hint(f.q, words)] if f.q is not None else [])


def conditions(job_filter: JobFilter, viewer: User) -> list[ColumnElement[bool]]:
    """The whole WHERE clause, as one list."""
    return where(job_filter, viewer).all


def _tests(f: JobFilter, words: list[Word]) -> list[ColumnElement[bool]]:
    tests: list[ColumnElement[bool]] = []
    if f.user is not None:
        # Someone else's email leaves a non-admin with nothing: their own jobs are not theirs.
        owner = select(User.id).where(User.email == f.user.lower()).scalar_subquery()
        tests.append(J.user_id == owner)
    if f.status:
        tests.append(J.status == f.status[0] if len(f.status) == 1 else J.status.in_(f.status))
    for column, value in ((J.task, f.task), (J.queue, f.queue), (J.project_id, f.project_id),
                          (J.error_code, f.error_code)):
        if value is not None:
            tests.append(column == value)
    if f.stage is not None:
        tests.append(func.lower(J.stage).like(_escape(f.stage.lower()) + "%", escape="\\"))
    tests += _between(J.ended_at, f.ended_after, f.ended_before)
    if f.q is not None:
        tests.append(search(f.q, words))
    return tests


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


def search(q: str, words: list[Word]) -> ColumnElement[bool]:
    """Each word of `q` is a word of the error message or of a parameter value (in any
    case; one that ends in `*` starts one), or `q` starts the job's id."""
    found = []
    if words:
        found.append(SEARCH_VECTOR.op("@@")(func.to_tsquery(SIMPLE, tsquery(words))))
    if (ids := id_range(q)) is not None:
        found.append(J.id.between(*ids))
    return or_(*found) if found else false()


def search_hint(q: str, words: list[Word]) -> ColumnElement[bool]:
    """What every match of search() has, and a row can show without building its word list
    (a fraction of the work): each word in its error or its parameters' text (keys too:
    it is only a first sieve), or the id prefix."""
    found = []
    if words:
        found.append(and_(*(or_(J.error.ilike(f"%{_escape(w.text)}%", escape="\\"),
                                cast(J.params, Text).ilike(f"%{_escape(w.text)}%",
                                                           escape="\\"))
                            for w in words)))
    if (ids := id_range(q)) is not None:
        found.append(J.id.between(*ids))
    return or_(*found) if found else false()


@dataclass(frozen=True)
class Word:
    """One word to look for, as the index holds words; `prefix`: it may go on."""

    text: str
    prefix: bool


def _words(q: str) -> list[Word]:
    """`q`'s words, split by PostgreSQL's own parser (the one that made the index); the
    words of a part of `q` that ends in `*` are prefixes. Whole words are the fast case:
    the index answers them exactly, while a prefix also has each candidate row checked."""
    parts = tuple(q.split())
    split = _lexemes(parts) if parts else ()
    found: dict[str, bool] = {}
    for part, lexemes in zip(parts, split, strict=True):
        for lexeme in lexemes or ():
            found[lexeme] = found.get(lexeme, False) or part.endswith("*")
    return [Word(text, prefix) for text, prefix in found.items()]


@lru_cache(maxsize=512)
def _lexemes(parts: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Each part's words as the 'simple' parser splits them (one round trip, then
    remembered: the same search again, or the next page of it, asks no more)."""
    row = db.session.execute(select(*(
        func.tsvector_to_array(func.to_tsvector(SIMPLE, literal(part, Text)))
        for part in parts))).one()
    return tuple(tuple(lexemes or ()) for lexemes in row)


def tsquery(words: list[Word]) -> str:
    """The words as a tsquery: 'narration' & 'serv':*."""
    return " & ".join("'" + w.text.replace("\\", "\\\\").replace("'", "''") + "'"
                      + (":*" if w.prefix else "") for w in words)


def id_range(q: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The lowest and highest ids that start with `q` (dashes optional), if it can start one:
    a range on the primary key, where a text prefix of the id would read every row."""
    digits = q.replace("-", "").lower()
    if not digits or len(digits) > 32 or not set(digits) <= HEX:
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))
