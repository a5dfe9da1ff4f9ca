"""HTML-escaping the JSON that rq-dashboard's pages feed to their client-side templates.

Its underscore templates insert most fields with `<%= %>`, which does not escape, and job
descriptions, results, errors and meta are user input. So every string in its JSON (dict
keys too) is escaped here, before its JavaScript sees it, except the few fields a template
escapes itself (escaping those again would show `&lt;` to the admin). Escaping changes no
value its JavaScript compares or builds a URL from: job ids (RQ allows only letters, digits,
`-` and `_`), statuses, ISO dates and queue names (checked by the guard) contain nothing
that escaping rewrites, and URLs land in `href` attributes, where the browser decodes them.
"""

from __future__ import annotations

import enum
from html import escape
from typing import Any

from flask import Response, current_app


class Mode(enum.Enum):
    ATTRIBUTE = "attribute"  # may land inside a quoted attribute: quotes escaped too
    TEXT = "text"  # only ever element text: &, <, > (so JSON.stringify keeps its quotes)
    KEEP = "keep"  # the template escapes it itself


# Per endpoint, the fields (dotted paths, `*` for every list item) that differ from the
# default ATTRIBUTE mode; a field's mode applies to everything below it.
FIELDS: dict[str, dict[str, Mode]] = {
    # jobs.html writes these through jQuery's .text().html(), which escapes.
    "rq_dashboard.list_jobs": {"jobs.*.description": Mode.KEEP,
                               "jobs.*.exc_info": Mode.KEEP},
    # workers.html puts the description in a title attribute with `<%- %>`, which escapes.
    "rq_dashboard.list_workers": {"workers.*.current_job.description": Mode.KEEP},
    # job.html shows the result as JSON.stringify(result) inside <pre>.
    "rq_dashboard.job_info": {"result": Mode.TEXT},
}


def escape_tree(value: Any, fields: dict[str, Mode], mode: Mode = Mode.ATTRIBUTE,
                path: str = "") -> Any:
    """`value` with every string escaped for HTML by its mode; numbers, bools, null kept."""
    mode = fields.get(path, mode)
    if mode is Mode.KEEP:
        return value
    if isinstance(value, str):
        return escape(value, quote=mode is Mode.ATTRIBUTE)
    if isinstance(value, list):
        return [escape_tree(item, fields, mode, _child(path, "*")) for item in value]
    if isinstance(value, dict):
        return {escape(str(key), quote=mode is Mode.ATTRIBUTE):
                escape_tree(item, fields, mode, _child(path, str(key)))
                for key, item in value.items()}
    return value


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def escape_json_response(response: Response, endpoint: str) -> Response:
    """Rewrite a successful JSON answer of rq-dashboard with every string escaped."""
    data = response.get_json(silent=True)
    if data is None:
        return response
    response.set_data(current_app.json.dumps(escape_tree(data, FIELDS.get(endpoint, {}))))
    return response
