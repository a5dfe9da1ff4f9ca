"""One way to page a listing (webapp/pagination.py) and one pager under every list."""

import pytest
from flask import render_template_string
from sqlalchemy import select

from tests.support import make_job, make_user
from webapp.models import BackgroundJob
from webapp.pagination import MAX_PAGE, Page, page_number, paginate

PAGER = '{% from "_macros.html" import pager %}{{ pager(listing, "admin.users", "← Previous", ' \
        '"Next →", q=q) }}'


def test_an_empty_listing_is_one_empty_page():
    empty = Page(items=[], page=1, per_page=20, total=0)
    assert (empty.pages, empty.has_prev, empty.has_next) == (1, False, False)
    middle = Page(items=[], page=2, per_page=20, total=41)
    assert (middle.pages, middle.has_prev, middle.has_next) == (3, True, True)


def test_paginate_counts_everything_and_returns_one_page_in_order(db_session):
    user = make_user()
    for steps in range(1, 26):
        make_job(user, params={"steps": steps})
    stmt = (select(BackgroundJob).where(BackgroundJob.user_id == user.id)
            .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()))
    first, second, past = (paginate(stmt, page, 20) for page in (1, 2, 9))
    assert (first.total, len(first.items), first.has_next) == (25, 20, True)
    assert (second.total, len(second.items), second.has_next) == (25, 5, False)
    assert (past.total, past.items, past.pages) == (25, [], 2)
    assert {j.id for j in first.items}.isdisjoint(j.id for j in second.items)


@pytest.mark.parametrize(("raw", "page"), [("", 1), ("0", 1), ("-3", 1), ("abc", 1), ("7", 7),
                                           (str(10**20), MAX_PAGE)])
def test_html_page_numbers_are_clamped(app, raw, page):
    with app.test_request_context(f"/?page={raw}"):
        assert page_number() == page


def test_the_pager_links_both_ways_and_keeps_the_search(app):
    with app.test_request_context("/admin/users"):
        html = render_template_string(PAGER, listing=Page([], 2, 50, 120), q="ann")
        alone = render_template_string(PAGER, listing=Page([], 1, 50, 50), q="")
    assert '<a href="/admin/users?q=ann&amp;page=1">← Previous</a>' in html
    assert "<span>Page 2 of 3</span>" in html
    assert '<a href="/admin/users?q=ann&amp;page=3">Next →</a>' in html
    assert "pager" not in alone
