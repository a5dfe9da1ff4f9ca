"""Page numbers from the query string, for the HTML pages (the API answers 422 instead)."""

from __future__ import annotations

from flask import request

# Deeper than any listing goes; keeps (page - 1) * per_page far inside PostgreSQL's OFFSET.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """?page=, between 1 and MAX_PAGE whatever was sent (a page past the end is just empty)."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
