"""gunicorn's logger for the Procfile's web process (webapp/gunicorn_conf.py)."""

from gunicorn import glogging

QUIET_PATH = "/live"  # webapp/live/shortcut.py


class Logger(glogging.Logger):
    """gunicorn's own, without an access-log line for a live poll that found nothing new
    (a 204 of /live): every open dashboard makes one each interval, and they say nothing
    that the rest of the log does not. Every other request is logged as before."""

    def access(self, resp, req, environ, request_time):
        if resp.status_code == 204 and environ.get("PATH_INFO") == QUIET_PATH:
            return
        super().access(resp, req, environ, request_time)
