"""gunicorn settings of the Procfile's `web` process (`gunicorn -c python:webapp.gunicorn_conf`),
read from the same environment as the app (README: Configuration)."""

import gc
import os

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT') or '5000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = "gthread"
accesslog = "-"
# Every request but a live poll's empty answer (204), which would be most lines and ~40% of
# such a request's cost (bench/poll.py).
logger_class = "webapp.gunicorn_logging.Logger"
graceful_timeout = 20
# No control socket under ~/.gunicorn (gunicorn 25.1+; older versions ignore the name).
control_socket_disable = True
# Which X-Forwarded-* headers to believe is TRUSTED_PROXIES's decision alone: the app applies
# it (werkzeug's ProxyFix, counting hops). gunicorn would otherwise trust them from 127.0.0.1
# whatever TRUSTED_PROXIES says.
forwarded_allow_ips = ""


def post_worker_init(worker) -> None:
    """Once the app is loaded, its objects (modules, templates, SQLAlchemy's mappers: most
    of the heap) are frozen out of the garbage collector: a full collection then scans
    only what requests left behind. Measured in bench/poll.py's web process: full
    collections of 53-298 ms before (every request in flight waits that long), 1-3 ms
    after."""
    gc.freeze()
