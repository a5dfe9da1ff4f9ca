"""The components of the OpenAPI document: response shapes and the project input schema."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from webapp.models import STATUSES
from webapp.projects.schemas import NOT_NULL, Limits, ProjectIn
from webapp.video.formats import FORMATS
from webapp.video.themes import FONTS, THEMES
from webapp.video.voices import VOICES

REF = "#/components/schemas/{model}"
# What ThemeIn's colour validator accepts (webapp.video.themes.parse_colour).
COLOUR = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
# Text fields are stripped before validation, so blank text counts as empty.
NOT_BLANK = r"\S"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def model_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema and its sub-models', by name, referring to each other."""
    schema = model.model_json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    return {**defs, model.__name__: schema}


def _variant(prop: dict[str, Any]) -> dict[str, Any]:
    """The non-null alternative of an `X | None` property (the property itself otherwise)."""
    for option in prop.get("anyOf", ()):
        if option != {"type": "null"}:
            return option
    return prop


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An `X | None = None` property that may be left out but never sent as null."""
    kept = {k: v for k, v in prop.items() if k in ("title", "description")}
    return {**copy.deepcopy(_variant(prop)), **kept}


def project_input(limits: Limits) -> dict[str, Any]:
    """ProjectIn and its parts, with what its validators and the configuration add."""
    schemas = model_schemas(ProjectIn)
    props = schemas["ProjectIn"]["properties"]
    for name in NOT_NULL:
        props[name] = _not_null(props[name])
    props["title"]["pattern"] = NOT_BLANK
    props["format"]["enum"] = list(FORMATS)
    props["voice"]["enum"] = list(VOICES)
    _variant(props["script"]).update(
        minItems=1, maxItems=limits.scenes,
        description=f"At most {limits.script_chars} characters in all.")
    scene = schemas["SceneIn"]["properties"]
    scene["heading"].update(maxLength=limits.heading_chars, pattern=NOT_BLANK)
    scene["narration"].update(maxLength=limits.scene_chars, pattern=NOT_BLANK)
    theme = schemas["ThemeIn"]["properties"]
    theme["preset"]["enum"] = list(THEMES)
    _variant(theme["font"])["enum"] = list(FONTS)
    for name in ("background", "background_end", "text", "accent"):
        _variant(theme[name])["pattern"] = COLOUR
    schemas["ProjectCreate"] = {
        "description": "A new project needs a title, and a topic or a script.",
        "allOf": [ref("ProjectIn")],
        "required": ["title"],
        "anyOf": [
            {"required": ["topic"], "properties": {"topic": {"type": "string",
                                                             "pattern": NOT_BLANK}}},
            {"required": ["script"], "properties": {"script": {"type": "array"}}},
        ],
    }
    return schemas


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [dict(schema), {"type": "null"}]}


def _object(properties: Mapping[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object whose properties are all required but `optional`."""
    return {"type": "object", "additionalProperties": False,
            "required": [name for name in properties if name not in optional],
            "properties": dict(properties)}


TEXT, INTEGER = {"type": "string"}, {"type": "integer"}
TIME = {"type": "string", "format": "date-time"}
UUID = {"type": "string", "format": "uuid"}
LINKS = {"type": "object", "additionalProperties": {"type": "string"}}


def output_schemas() -> dict[str, Any]:
    """The shapes of responses (webapp/api/serialize.py, the list views, errors)."""
    return {**_job_schemas(), **_project_schemas()}


def _job_schemas() -> dict[str, Any]:
    status = {"type": "string", "enum": [s.value for s in STATUSES]}
    return {
        "Error": _object({"error": _object({
            "code": TEXT, "message": TEXT,
            "details": {"type": "array", "items": ref("FieldError")},
        }, optional=("details",))}),
        "FieldError": _object({"field": TEXT, "message": TEXT}),
        "Task": _object({
            "name": TEXT, "title": TEXT, "description": TEXT, "queue": TEXT,
            "timeout": INTEGER, "max_attempts": INTEGER,
            "parameters": {"type": "object", "description": "JSON Schema of the parameters."},
            "links": LINKS,
        }),
        "Job": _object({
            "id": UUID, "task": TEXT, "title": TEXT,
            "status": status, "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "stage": _nullable(TEXT), "params": {"type": "object"},
            "result": {"description": "What the task returned: any JSON, or null."},
            "error": _nullable(TEXT), "error_code": _nullable(TEXT),
            "traceback": _nullable(TEXT), "attempt": {"type": "integer", "minimum": 0},
            "max_attempts": _nullable(INTEGER), "project_id": _nullable(INTEGER),
            "user_id": INTEGER, "worker_name": _nullable(TEXT),
            "cancel_requested": {"type": "boolean"},
            "held": {"type": "boolean", "description": "Waiting for one of your running "
                                                      "jobs to end (max_running_jobs)."},
            "created_at": TIME,
            "enqueued_at": _nullable(TIME), "started_at": _nullable(TIME),
            "ended_at": _nullable(TIME), "heartbeat_at": _nullable(TIME), "links": LINKS,
        }),
        "Render": _object({
            "pipeline_id": UUID, "status": status,
            "message": _nullable(TEXT), "stages": {"type": "array", "items": ref("Job")},
            "files": LINKS,
        }),
    }


def _project_schemas() -> dict[str, Any]:
    return {
        "Video": _object({
            "job_id": UUID, "files": LINKS,
            "duration": _nullable({"type": "number"}), "width": _nullable(INTEGER),
            "height": _nullable(INTEGER), "size": _nullable(INTEGER),
            "credits": {"type": "array", "description": "Stock media it shows: `scene`, "
                        "`provider`, `author`, `page_url`.", "items": {"type": "object"}},
        }),
        "Project": _object({
            "id": INTEGER, "title": TEXT, "topic": _nullable(TEXT), "outline": _nullable(TEXT),
            "script": _nullable({"type": "array", "items": _object({
                "heading": TEXT, "narration": TEXT,
                "media": {**INTEGER, "description": "The scene's picture or clip (an upload's "
                                                     "id); absent for a text scene."}},
                optional=("media",))}),
            "format": TEXT, "voice": TEXT,
            "theme": {"type": "object", "additionalProperties": {"type": "string"}},
            "music_level": INTEGER, "narration_speed": {"type": "number"},
            "captions": _object({"style": TEXT, "position": TEXT, "size": TEXT}),
            "burn_subtitles": {"type": "boolean"}, "user_id": INTEGER,
            "stock_provider": {"type": "string", "enum": ["", "pexels", "pixabay"]},
            "stock_kind": {"type": "string", "enum": ["picture", "clip"]},
            "created_at": TIME, "updated_at": TIME, "links": LINKS,
            "renders": {"type": "array", "items": ref("Render"),
                        "description": "Only on a single project."},
            "video": {**_nullable(ref("Video")), "description": "Only on a single project."},
        }, optional=("renders", "video")),
        "ProjectPage": _object({
            "items": {"type": "array", "items": ref("Project")}, "page": INTEGER,
            "per_page": INTEGER, "total": INTEGER,
        }),
        "AuditEvent": _object({
            "id": INTEGER, "at": TIME, "actor_id": _nullable(INTEGER), "actor_email": TEXT,
            "action": TEXT, "target_type": TEXT, "target_id": TEXT,
            "owner_id": _nullable(INTEGER), "detail": {"type": "object"},
        }),
        "AuditPage": _object({
            "items": {"type": "array", "items": ref("AuditEvent")}, "page": INTEGER,
            "per_page": INTEGER, "total": INTEGER,
        }),
    }
