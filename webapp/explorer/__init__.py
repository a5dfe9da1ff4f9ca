"""The jobs explorer at /jobs: every filter as a bookmarkable GET form, keyset pages, capped
counts, saved views, and bulk cancel, retry and delete."""

from flask import Blueprint

bp = Blueprint("explorer", __name__)

from webapp.explorer import views  # noqa: E402,F401
