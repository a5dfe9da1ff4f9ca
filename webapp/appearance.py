"""The colour theme a browser asked for: light, dark, or (the default) the system's.

The choice lives in a cookie, so it sticks on the device, signed in or not, and the page is
rendered with it (no flash of the other theme, no script needed).
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, url_for

from webapp.navigation import origin_page

bp = Blueprint("appearance", __name__)

COOKIE = "theme"
THEMES = ("auto", "light", "dark")
ONE_YEAR = 365 * 24 * 3600


def current_theme() -> str:
    """The theme this browser chose ("auto" when it chose none, or something unknown)."""
    theme = request.cookies.get(COOKIE, "auto")
    return theme if theme in THEMES else "auto"


@bp.post("/appearance/theme")
def set_theme():
    """Remember the chosen theme and go back to the page it was chosen on."""
    theme = request.form.get("theme", "auto")
    response = redirect(origin_page(url_for("dashboard.home")), 303)
    if theme in ("light", "dark"):
        response.set_cookie(COOKIE, theme, max_age=ONE_YEAR, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    else:
        response.delete_cookie(COOKIE, samesite="Lax", secure=request.is_secure, httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(lambda: {"ui_theme": current_theme(), "ui_themes": THEMES})
