"""URL converters: an `<int:...>` id in a path is one PostgreSQL can hold, or the path is 404."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_INT4 = 2**31 - 1


def _up_to(limit: str) -> str:
    """A regex for the decimal numbers 0..limit without leading zeros."""
    shorter = rf"[1-9]\d{{0,{len(limit) - 2}}}|0" if len(limit) > 1 else ""
    same_length = []
    for i, digit in enumerate(limit):
        if int(digit) > (1 if i == 0 else 0):
            low = "1" if i == 0 else "0"
            rest = rf"\d{{{len(limit) - i - 1}}}" if i < len(limit) - 1 else ""
            same_length.append(f"{limit[:i]}[{low}-{int(digit) - 1}]{rest}")
    same_length.append(limit)
    return "|".join(filter(None, [*same_length, shorter]))


class IdConverter(IntegerConverter):
    """`<int:...>` for ids: 0 to 2**31 - 1, matched by the URL's pattern itself, so a larger
    number matches no route (a 404) rather than reaching PostgreSQL (a 500)."""

    regex = f"(?:{_up_to(str(MAX_INT4))})"


def init_app(app: Flask) -> None:
    """Before any route is added: every `<int:...>` in a path is bounded."""
    app.url_map.converters["int"] = IdConverter
