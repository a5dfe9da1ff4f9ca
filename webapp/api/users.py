"""Your own account and limits; for admins, every user's limits and usage."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.inputs import int_arg, json_body, page_arg, text_arg
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.jobs import dispatch
from webapp.models import User
from webapp.pagination import paginate
from webapp.user_limits import change_limits, describe

MAX_USER_ID = 2**31 - 1


def _admin() -> User:
    user = api_user()
    if not user.is_admin:
        raise ApiError(403, "Only admins may manage users.")
    return user


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_USER_ID else None
    if user is None:
        raise ApiError(404, "No such user.")
    return user


@bp.get("/me")
def me():
    """The caller: their limits (own and in effect) and what they use now."""
    return jsonify(describe(api_user()))


@bp.get("/users")
def list_users():
    """Admins: users (by email prefix with ?email=), with their limits and usage."""
    _admin()
    stmt = select(User)
    if prefix := text_arg("email"):
        stmt = stmt.where(User.email.startswith(prefix.strip().lower(), autoescape=True))
    listing = paginate(stmt.order_by(User.email), page_arg(), int_arg("per_page", 50, 1, 200))
    usage = dispatch.usage([u.id for u in listing.items])
    return jsonify({"items": [describe(u, usage[u.id]) for u in listing.items],
                    "page": listing.page, "per_page": listing.per_page, "total": listing.total})


@bp.get("/users/<int:user_id>")
def get_user(user_id: int):
    """Admins: one user's limits and usage."""
    _admin()
    return jsonify(describe(_user_or_404(user_id)))


@bp.patch("/users/<int:user_id>")
def update_user(user_id: int):
    """Admins: change a user's limits: {"limits": {name: value, or null for the default}}."""
    actor = _admin()
    user = _user_or_404(user_id)
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"limits"}:
        raise ApiError(422, "Send {\"limits\": {...}}.", details=[
            {"field": "(body)", "message": "Only `limits` can be changed."}])
    change_limits(actor, user, body.get("limits", {}))
    return jsonify(describe(user))
