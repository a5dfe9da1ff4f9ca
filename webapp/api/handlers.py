"""What the API answers when a service refuses: each exception becomes its JSON error here,
so views just call the service.

QuotaExceeded (429, with Retry-After) and ApiError are answered app-wide (webapp/errors.py);
every 503 gets its Retry-After from webapp/outages.py.
"""

from __future__ import annotations

from webapp.api import bp
from webapp.errors import error_response
from webapp.jobs.pauses import UnknownQueue
from webapp.jobs.service import JobConflict, QueueUnavailable
from webapp.projects.renders import RenderConflict
from webapp.validation import ParamsError


@bp.errorhandler(ParamsError)
def invalid_parameters(exc: ParamsError):
    """422 naming each bad field (a malformed or reused Idempotency-Key too)."""
    return error_response(422, str(exc), details=exc.details)


@bp.errorhandler(JobConflict)
@bp.errorhandler(RenderConflict)
def conflict(exc: JobConflict | RenderConflict):
    """409: the job or project is not in a state that allows this."""
    return error_response(409, str(exc))


@bp.errorhandler(QueueUnavailable)
def queue_unavailable(exc: QueueUnavailable):
    """503: Redis did not take the job; nothing was started."""
    return error_response(503, str(exc), "queue_unavailable")


@bp.errorhandler(UnknownQueue)
def unknown_queue(exc: UnknownQueue):
    """404 naming the queue, and the queues there are."""
    return error_response(404, str(exc), details=[{"field": "name", "message": str(exc)}])
