"""Changing one user's limits: the operation the admin pages, the API and the CLI share."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from webapp import audit
from webapp.extensions import db
from webapp.jobs import dispatch
from webapp.models import User
from webapp.quotas import own_limits, parse_overrides, quotas_for, set_limits


def change_limits(actor: User | None, user: User, data: Any) -> dict:
    """Validate and store `data` ({limit: value or null}), audit it, commit, and dispatch
    what the new limits let through at once; returns what changed. Raises ParamsError."""
    changed = set_limits(user, parse_overrides(data))
    if changed and actor is not None:
        audit.admin_action(actor, "user.limits", "user", user.id, user.id, always=True,
                           changed=changed)
    db.session.commit()
    if changed:
        dispatch.release(user.id)
    return changed


def describe(user: User, usage: dict[str, int] | None = None) -> dict[str, Any]:
    """A user as admins see them: their limits (own and in effect) and what they use."""
    return {"id": user.id, "email": user.email, "is_admin": user.is_admin,
            "created_at": user.created_at.isoformat() if user.created_at else None,
            "limits": asdict(quotas_for(user)), "own_limits": own_limits(user),
            "usage": usage if usage is not None else dispatch.usage([user.id])[user.id]}
