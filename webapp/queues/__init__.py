"""The operator console's queues and workers: each queue's numbers and its pause, every live
worker and what it runs. Admins only."""

from flask import Blueprint

bp = Blueprint("queues", __name__, url_prefix="/console")

from webapp.queues import views  # noqa: E402,F401
