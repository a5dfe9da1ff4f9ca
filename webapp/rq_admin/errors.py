"""Refusals on /rq, and the backstop that keeps rq-dashboard's exceptions from being 500s."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import abort, request
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from webapp.errors import error_response, wants_json

log = logging.getLogger(__name__)

UNREACHABLE = "The job queue (Redis) is unreachable; try again in a few seconds."
RETRY_AFTER = 5


def refuse(status: int, message: str):
    """A JSON error for its scripts and actions, an error page for its pages."""
    if request.method != "GET" or request.path.endswith(".json") or wants_json():
        response = error_response(status, message, "queue_unavailable" if status == 503
                                  else None)
        if status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    if status == 503:
        raise ServiceUnavailable(message, retry_after=RETRY_AFTER)
    abort(status, description=message)


def translated(view: Callable) -> Callable:
    """rq-dashboard's view, with what it raises answered as a 4xx or a 503, never a 500."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except HTTPException:
            raise
        except RedisError as exc:
            log.warning("rq-dashboard: Redis is unreachable: %s", exc)
            return refuse(503, UNREACHABLE)
        except (NoSuchJobError, LookupError) as exc:
            return refuse(404, str(exc) or "Not found.")
        except Exception:
            # A bug in it (or a job it cannot show): logged with the traceback.
            log.exception("rq-dashboard failed on %s", request.path)
            return refuse(400, "The queue dashboard could not handle this request; the "
                               "error is logged.")

    return wrapper
