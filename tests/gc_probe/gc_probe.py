"""A WSGI app for tests/test_gunicorn_conf.py: it answers with its worker's garbage
collector state, so that gunicorn's settings (webapp/gunicorn_conf.py) can be checked in a
real gunicorn worker."""

import gc
import json


def app(environ, start_response):
    body = json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]
