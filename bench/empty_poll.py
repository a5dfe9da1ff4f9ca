"""The floor of bench/poll.py: gunicorn, as the Procfile runs it, answering every poll with
an empty 204 and doing nothing else (no cookie, no Redis, no Flask). Whatever a poll of
Cutroom's costs above this is the app's; this much is gunicorn's own, at the same rate.

`gunicorn empty_poll:app --config python:webapp.gunicorn_conf` from bench/.
"""

from __future__ import annotations

_NOTHING = [("Cache-Control", "no-store")]


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    start_response("204 No Content", list(_NOTHING))
    return []
