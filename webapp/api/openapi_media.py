"""The OpenAPI paths and schemas of a project's uploads (webapp/api/media.py)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import errors, items, response
from webapp.api.openapi_schemas import ref

INTEGER, TEXT = {"type": "integer"}, {"type": "string"}
_NULLABLE_INT = {"type": ["integer", "null"]}


def media_schemas() -> dict[str, Any]:
    return {"Media": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "kind", "name", "content_type", "size", "width", "height",
                     "duration", "sha256", "scenes", "created_at", "url"],
        "properties": {
            "id": INTEGER, "kind": {"type": "string", "enum": ["image", "clip", "music"]},
            "name": {**TEXT, "description": "The name it was sent with (for display only)."},
            "content_type": TEXT, "size": {**INTEGER, "description": "Bytes kept."},
            "width": _NULLABLE_INT, "height": _NULLABLE_INT,
            "duration": {"type": ["number", "null"], "description": "Seconds (clips, music)."},
            "sha256": TEXT,
            "scenes": {"type": "array", "items": INTEGER,
                       "description": "The scenes (1-based) that show it."},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {**TEXT, "description": "Where to GET the file (supports Range)."},
        }}}


def _upload_body(what: str) -> dict[str, Any]:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": {
            "type": "string", "format": "binary",
            "description": f"{what}, judged by its content (not its name)."}}}}}}


def _upload(operation_id: str, summary: str, what: str) -> dict[str, Any]:
    return {"operationId": operation_id, "tags": ["media"], "summary": summary,
            "requestBody": _upload_body(what),
            "responses": {"201": response("The kept file.", ref("Media"), {
                "Location": {"$ref": "#/components/headers/Location"}}),
                **errors(401, 404, 413, 422, 429, 503)}}


def _removal(operation_id: str, summary: str) -> dict[str, Any]:
    return {"operationId": operation_id, "tags": ["media"], "summary": summary,
            "responses": {"204": response("Removed."), **errors(401, 404, 503)}}


def media_paths() -> dict[str, Any]:
    project_id = {"$ref": "#/components/parameters/ProjectId"}
    number = {"name": "number", "in": "path", "required": True,
              "description": "The scene, 1-based.", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": 2147483647}}
    media_id = {"name": "media_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
    binary = {"*/*": {}}
    return {
        "/projects/{project_id}/media": {"get": {
            "operationId": "listMedia", "tags": ["media"], "parameters": [project_id],
            "summary": "The project's uploads: scenes' pictures and clips, the music track.",
            "responses": {"200": response("The uploads.", items(ref("Media"))),
                          **errors(401, 404)}}},
        "/projects/{project_id}/scenes/{number}/media": {
            "parameters": [project_id, number],
            "put": _upload("putSceneMedia", "Give a scene a picture (PNG, JPEG, WebP) or a "
                           "clip (MP4, MOV, WebM), in place of its own.",
                           "A picture or a video clip"),
            "delete": _removal("deleteSceneMedia", "Make the scene a text scene again."),
        },
        "/projects/{project_id}/music": {
            "parameters": [project_id],
            "put": _upload("putMusic", "Give the project a music track (MP3, M4A, WAV, Ogg, "
                           "FLAC), in place of its own.", "A music track"),
            "delete": _removal("deleteMusic", "Remove the project's music track."),
        },
        "/projects/{project_id}/media/{media_id}": {"get": {
            "operationId": "getMedia", "tags": ["media"], "parameters": [
                project_id, media_id,
                {"name": "Range", "in": "header", "required": False,
                 "schema": {"type": "string", "examples": ["bytes=0-1023"]}}],
            "summary": "An uploaded file.",
            "responses": {
                "200": {"description": "The file.", "content": binary},
                "206": {"description": "Part of the file.", "content": binary},
                "304": {"description": "Not modified."},
                "307": {"description": "With `MEDIA_REDIRECT=1`: a presigned URL."},
                **errors(401, 404, 416, 503)}}},
    }
