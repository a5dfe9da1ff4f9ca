"""The consistency panel and its "check now" button, for admins only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.consistency import bp, service
from webapp.consistency.banner import warnings
from webapp.consistency.chart import bar_chart
from webapp.extensions import db
from webapp.jobs import doctor


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403)


@bp.get("/consistency")
@login_required
def panel():
    """Disagreements now and by kind, repairs in 24 h (a chart), backlog, last pass."""
    _admin_only()
    view = service.panel()
    return render_template("consistency/panel.html", view=view, state=view.status,
                           warnings=warnings(view.status), chart=bar_chart(view.repairs),
                           problems=doctor.PROBLEMS, limit=doctor.LIMIT)


@bp.post("/consistency/check")
@login_required
def check_now():
    """Run the doctor now and record what it finds; back to the panel."""
    _admin_only()
    row = service.check_now()
    db.session.commit()
    if row.disagreements is None:
        flash(f"The check could not run: {row.check_error}", "error")
    else:
        flash(f"Checked just now: {row.disagreements:,} disagreement(s).")
    return redirect(url_for("consistency.panel"), 303)
