"""The metrics page: throughput, failure rate, queue wait and run time, for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template, request
from flask_login import current_user, login_required

from webapp import histogram
from webapp.metrics import bp, charts, page
from webapp.metrics.queries import DEFAULT_WINDOW, WINDOWS, metrics


@bp.get("/console/metrics")
@login_required
def console():
    """Charts of one window (?window=1h|24h|7d; anything else shows the default)."""
    if not current_user.is_admin:
        abort(403)
    window = WINDOWS.get(request.args.get("window", ""), WINDOWS[DEFAULT_WINDOW])
    result = metrics(window, datetime.now(UTC))
    return render_template("console/metrics.html", result=result, windows=WINDOWS.values(),
                           charts=page.charts_for(result), task_title=page.task_title,
                           when=page.when, seconds=charts.seconds, percent=charts.percent,
                           error=histogram.RATIO - 1)
