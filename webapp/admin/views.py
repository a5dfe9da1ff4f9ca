"""The audit log page, for admins only."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from webapp import audit
from webapp.admin import bp
from webapp.pagination import page_number

PER_PAGE = 50


@bp.get("/audit")
@login_required
def audit_log():
    """Admin actions on other users' jobs and projects, newest first."""
    if not current_user.is_admin:
        abort(403)
    listing = audit.recent(page_number(), PER_PAGE)
    return render_template("admin/audit.html", listing=listing,
                           emails=audit.emails_of(listing.items))
