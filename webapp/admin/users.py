"""Admins: find a user, see what they use, and change their limits."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.admin import bp
from webapp.extensions import db
from webapp.jobs import dispatch
from webapp.models import User
from webapp.pagination import page_number, paginate
from webapp.quotas import LIMITS, defaults, own_limits
from webapp.user_limits import change_limits
from webapp.validation import ParamsError

PER_PAGE = 50
MAX_USER_ID = 2**31 - 1


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403)


def _page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    query = request.values.get("q", "").strip().lower()[:254]
    stmt = select(User)
    if query:
        stmt = stmt.where(User.email.contains(query, autoescape=True))
    listing = paginate(stmt.order_by(User.email), page_number(), PER_PAGE)
    users = listing.items
    html = render_template(
        "admin/users.html", listing=listing, usage=dispatch.usage([u.id for u in users]),
        own={u.id: own_limits(u) for u in users}, defaults=asdict(defaults()), limits=LIMITS,
        query=query, errors=errors or {}, values=values or {})
    return html, status


@bp.get("/users")
@login_required
def users():
    """Every user (search by email), what they use now, and their limits."""
    _admin_only()
    return _page()


@bp.post("/users/<int:user_id>/limits")
@login_required
def set_limits(user_id: int):
    """Change one user's limits (blank: the default); held jobs that now fit start."""
    _admin_only()
    user = db.session.get(User, user_id) if user_id <= MAX_USER_ID else None
    if user is None:
        abort(404)
    data = {name: request.form.get(name, "").strip() for name in LIMITS if name in request.form}
    try:
        changed = change_limits(current_user, user, data)
    except ParamsError as exc:
        db.session.rollback()
        errors = {d["field"].removeprefix("limits."): d["message"] for d in exc.details}
        return _page({user.id: errors}, {user.id: data}, 422)
    flash(f"Limits of {user.email} saved." if changed else f"No change for {user.email}.")
    return redirect(url_for("admin.users", q=request.form.get("q") or None), 303)
