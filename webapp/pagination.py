"""Listings a page at a time: the page number asked for, and one page of a SELECT.

HTML pages clamp the page number (`page_number`); the API refuses one out of range with a
422 (`webapp.api.inputs.page_arg`). Either way it stays below MAX_PAGE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select

from webapp.extensions import db

# Deeper than any listing goes; keeps (page - 1) * per_page far inside PostgreSQL's OFFSET.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """?page=, between 1 and MAX_PAGE whatever was sent (a page past the end is just empty)."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@dataclass(frozen=True)
class Page:
    """One page of a listing, and how many items and pages there are in all."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """At least 1: an empty listing is one empty page."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def paginate(stmt: Select, page: int, per_page: int) -> Page:
    """Page `page` of what `stmt` selects, in its order (a page past the end is empty)."""
    found = db.paginate(stmt, page=page, per_page=per_page, max_per_page=None, error_out=False)
    return Page(items=found.items, page=found.page, per_page=found.per_page,
                total=found.total or 0)
