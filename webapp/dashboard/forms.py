"""Launch forms built from a task's parameter schema, and form input back to parameters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.jobs.registry import Task

TEXTAREA_FROM = 200  # strings allowed to be longer than this get a textarea


@dataclass(frozen=True)
class FormField:
    """One input of a launch form."""

    name: str
    label: str
    kind: str  # number | text | textarea | checkbox | select
    required: bool
    default: Any = None
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[Any, ...] = ()


def _resolve(prop: dict, defs: dict) -> dict:
    """Follow $ref and unwrap Optional (anyOf with null) to the concrete schema."""
    if "$ref" in prop:
        target = defs[prop["$ref"].rsplit("/", 1)[-1]]
        prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(options) == 1:
            merged = {k: v for k, v in prop.items() if k != "anyOf"}
            return {**_resolve(options[0], defs), **merged}
    return prop


def _kind(prop: dict) -> tuple[str, str | None]:
    if "enum" in prop:
        return "select", None
    kind = prop.get("type")
    if kind == "integer":
        return "number", "1"
    if kind == "number":
        return "number", "any"
    if kind == "boolean":
        return "checkbox", None
    if prop.get("maxLength", 10**6) > TEXTAREA_FROM:
        return "textarea", None
    return "text", None


@cache
def form_fields(task: Task) -> tuple[FormField, ...]:
    """The inputs of a task's launch form, in schema order (built once per task)."""
    schema = task.json_schema
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, defs)
        kind, step = _kind(prop)
        fields.append(
            FormField(
                name=name,
                label=prop.get("title", name.replace("_", " ").capitalize()),
                kind=kind,
                required=name in required,
                default=prop.get("default"),
                help=prop.get("description", ""),
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
                step=step,
                min_length=prop.get("minLength"),
                max_length=prop.get("maxLength"),
                choices=tuple(prop.get("enum", ())),
            )
        )
    return tuple(fields)


def params_from_form(task: Task, form: MultiDict) -> dict[str, Any]:
    """Raw parameters from a submitted launch form; empty inputs fall back to defaults."""
    params: dict[str, Any] = {}
    for field in form_fields(task):
        if field.kind == "checkbox":
            params[field.name] = field.name in form
            continue
        value = form.get(field.name, "")
        if value != "":
            params[field.name] = value
    return params
