"""Saved views: a person's filters of the explorer, each under a name of their choosing."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.explorer.filters import JobFilter
from webapp.extensions import db
from webapp.models import SavedView, User
from webapp.validation import ParamsError, unstorable_text

MAX_NAME = 100
MAX_QUERY = 2000
MAX_VIEWS = 50


def query_string(job_filter: JobFilter) -> str:
    """The filter as the explorer's URL query (what its GET form sends)."""
    return urlencode(job_filter.to_args(), doseq=True)


def list_views(user: User) -> list[SavedView]:
    """The user's saved views, by name."""
    return list(db.session.scalars(
        select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.name)))


def save_view(user: User, name: str, job_filter: JobFilter) -> SavedView:
    """Save `job_filter` under `name` (a new name, or the same one again: it is replaced);
    flushes. ParamsError naming `name` for a blank, long or unstorable name."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or unstorable_text(name):
        raise ParamsError([{"field": "name", "message": f"Give the view a name of 1 to "
                            f"{MAX_NAME} characters."}])
    query = query_string(job_filter)
    if len(query) > MAX_QUERY:
        raise ParamsError([{"field": "name", "message": "This filter is too long to save."}])
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id,
                                                     SavedView.name == name))
    if view is None:
        if _count(user) >= MAX_VIEWS:
            raise ParamsError([{"field": "name", "message": f"You have {MAX_VIEWS} saved "
                                "views, the most allowed: delete one first."}])
        view = SavedView(user_id=user.id, name=name, query=query)
        try:
            with db.session.begin_nested():  # the unique name decides a race
                db.session.add(view)
        except IntegrityError:
            raise ParamsError([{"field": "name", "message": "A view of that name was saved "
                                "just now: try again."}]) from None
    view.query = query
    db.session.flush()
    return view


def _count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(SavedView)
                             .where(SavedView.user_id == user.id)) or 0


def delete_view(user: User, view_id: int) -> bool:
    """Delete one of the user's views (flushes); False when it is not theirs or gone."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        return False
    db.session.delete(view)
    db.session.flush()
    return True
