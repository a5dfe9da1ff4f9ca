"""Validation errors that name each bad field, shared by every kind of input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError


class ParamsError(ValueError):
    """Parameters failed validation; `details` names each bad field."""

    def __init__(self, details: list[dict[str, str]]):
        self.details = details
        fields = ", ".join(d["field"] for d in details)
        super().__init__(f"Invalid parameters: {fields}")


def describe_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Turn pydantic errors into [{field, message}] with dotted field names."""
    details = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or "(body)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "Unknown parameter."
        details.append({"field": loc, "message": message})
    return details


def _storable(text: str) -> bool:
    """PostgreSQL text and JSONB hold neither NUL nor what UTF-8 cannot encode (surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def unstorable_text(value: Any, field: str = "") -> list[dict[str, str]]:
    """[{field, message}] for each string in JSON-like `value` that PostgreSQL cannot store."""
    if isinstance(value, str):
        if _storable(value):
            return []
        return [{"field": field or "(body)",
                 "message": "Must not contain NUL characters or unpaired surrogates."}]
    if isinstance(value, Mapping):
        items = [(str(key), key, item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), None, item) for index, item in enumerate(value)]
    else:
        return []
    problems = []
    for name, key, item in items:
        path = f"{field}.{name}" if field else name
        problems += unstorable_text(key, path) + unstorable_text(item, path)
    return problems
