"""Page or fragment: the one place that decides what an htmx request gets.

A request htmx makes from inside a page (a poll, a button) gets just the part that changed;
a boosted navigation and a history restore (the browser's back button with htmx's cache
empty) get the whole page, as does any request without htmx. Every response that can go
either way says `Vary: HX-Request`, so no cache hands a fragment to a page load.

An error that no fragment of the view's own can show (a stale CSRF token, no access, a
session that ended) goes, for an htmx request that does not load a page, into the page's
alert region (`#flash` in base.html), and the page stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_blocks

from webapp.extensions import htmx


def wants_fragment() -> bool:
    """An htmx request from inside the page: not boosted, not a history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def wants_error_fragment() -> bool:
    """An htmx request that does not load a page (a poll, a button, a boosted form's POST):
    its error belongs in the page it came from, not in place of it."""
    return (bool(htmx) and not htmx.history_restore_request
            and not (htmx.boosted and request.method == "GET"))


def error_fragment(status: int, message: str, link: tuple[str, str] | None = None
                   ) -> Response:
    """`message` (and a (text, URL) `link`) for the page's alert region, with `status`:
    htmx puts it there whatever element asked, and pushes no URL for it."""
    response = varies(make_response(
        render_template("errors/_alert.html", message=message, link=link), status))
    response.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML",
                             "HX-Push-Url": "false"})
    return response


def varies(response: Response) -> Response:
    """Mark a response that depends on whether htmx asked for it."""
    response.vary.add("HX-Request")
    return response


def render_htmx_template(template: str, blocks: Sequence[str] = (), status: int = 200,
                         **context) -> Response:
    """The whole page from `template`, or only its `blocks` when htmx asks from inside the
    page (none: always the whole page)."""
    if blocks and wants_fragment():
        html = render_blocks(template, list(blocks), **context)
    else:
        html = render_template(template, **context)
    return varies(make_response(html, status))


def render_fragment(template: str, status: int = 200, **context) -> Response:
    """A template that is only ever a fragment (a card, a form), for a view that answers
    htmx with it and anything else with a redirect or a page."""
    return varies(make_response(render_template(template, **context), status))
