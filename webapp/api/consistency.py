"""Admins: how far PostgreSQL and RQ agree, the numbers of the consistency panel."""

from __future__ import annotations

from flask import jsonify

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.consistency import service
from webapp.errors import ApiError


@bp.get("/consistency")
def consistency():
    """Disagreements (as of the last check), repairs in 24 h, backlog, last pass."""
    if not api_user().is_admin:
        raise ApiError(403, "Only admins may read the consistency numbers.")
    return jsonify(service.to_dict(service.panel()))
