"""What rq-dashboard's HTML pages get on their way out: our CSRF token and a strict CSP.

Its pages post with jQuery and no token: a meta tag carries ours and a static script sets
it as jQuery's default X-CSRFToken header. Its own code is one inline <script> per page:
that tag gets a fresh nonce, and the policy allows scripts only from us or with that nonce,
so an inline handler or script that got into the page anyway does not run. Its inline
style attributes are allowed by hash, computed from its installed templates. Its navbar gets
a link back to the app, before its own brand (or at the top of the body, should a later
version lose that tag), and a small stylesheet of ours (static/rq-fit.css) keeps its wide
tables inside a phone's screen; its templates are not copied.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from functools import cache
from pathlib import Path

import rq_dashboard
from flask import Response, url_for
from flask_wtf.csrf import generate_csrf

from webapp.security import rq_dashboard_csp

# The tag base.html opens its one inline script with (its other tags have a src).
INLINE_SCRIPT = '<script type="text/javascript">'
STYLE_ATTRIBUTE = re.compile(r'\bstyle="([^"]*)"')
# Its navbar's brand (navbar.html), where the link back to the app goes.
BRAND = '<a class="navbar-brand">'
BODY = re.compile(r"<body[^>]*>")


@cache
def style_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline style attributes in rq-dashboard's templates."""
    templates = Path(rq_dashboard.__file__).parent / "templates"
    values = {value for path in sorted(templates.rglob("*.html"))
              for value in STYLE_ATTRIBUTE.findall(path.read_text(encoding="utf-8"))}
    return tuple(sorted(
        "sha256-" + base64.b64encode(hashlib.sha256(v.encode()).digest()).decode()
        for v in values))


def _with_link_back(html: str) -> str:
    """The page with a "← Back to Cutroom" link in its navbar (Bootstrap's own classes)."""
    link = (f'<a class="navbar-brand" id="back-to-cutroom" href="{url_for("dashboard.home")}">'
            "← Back to Cutroom</a>")
    if BRAND in html:
        return html.replace(BRAND, link + BRAND, 1)
    return BODY.sub(lambda m: m.group(0) + link, html, count=1)


def finish_page(response: Response) -> Response:
    """Add the CSRF token, nonce its inline script and set the page's CSP."""
    nonce = secrets.token_urlsafe(18)
    html = response.get_data(as_text=True)
    html = html.replace(INLINE_SCRIPT, f'<script type="text/javascript" nonce="{nonce}">')
    tags = (f'<meta name="csrf-token" content="{generate_csrf()}">'
            f'<script src="{url_for("static", filename="rq-csrf.js")}"></script></body>')
    fit = f'<link rel="stylesheet" href="{url_for("static", filename="rq-fit.css")}"></head>'
    html = _with_link_back(html.replace("</body>", tags, 1).replace("</head>", fit, 1))
    response.set_data(html)
    response.headers["Content-Security-Policy"] = rq_dashboard_csp(nonce, style_hashes())
    return response
