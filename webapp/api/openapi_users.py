"""The OpenAPI paths and shapes of /me and /users (limits and usage)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import (
    BODY_ERRORS,
    errors,
    json_content,
    page_param,
    per_page_param,
    response,
)
from webapp.api.openapi_schemas import INTEGER, TEXT, TIME, _nullable, _object, ref
from webapp.quotas import LIMITS, MAX_INT_LIMIT

RATE = {"type": "string", "description": "A rate such as `60 per minute`."}
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_INT_LIMIT}


def _limit_value(name: str) -> dict[str, Any]:
    return RATE if name == "submit_rate" else COUNT


def user_schemas() -> dict[str, Any]:
    return {
        "Limits": _object({name: _limit_value(name) for name in LIMITS}),
        "OwnLimits": _object({name: _nullable(_limit_value(name)) for name in LIMITS}),
        "LimitsIn": {"type": "object", "additionalProperties": False,
                     "properties": {name: _nullable(_limit_value(name)) for name in LIMITS},
                     "description": "Only the limits to change; null restores the default."},
        "User": _object({
            "id": INTEGER, "email": TEXT, "is_admin": {"type": "boolean"},
            "created_at": _nullable(TIME), "limits": ref("Limits"),
            "own_limits": ref("OwnLimits"),
            "usage": _object({"running": INTEGER, "waiting": INTEGER}),
        }),
        "UserPage": _object({"items": {"type": "array", "items": ref("User")},
                             "page": INTEGER, "per_page": INTEGER, "total": INTEGER}),
    }


def user_paths() -> dict[str, Any]:
    user_id = {"name": "user_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 0}}
    return {
        "/me": {"get": {
            "operationId": "getMe", "tags": ["users"],
            "summary": "You: your limits (your own and in effect) and what you use now.",
            "responses": {"200": response("You.", ref("User")), **errors(401)}}},
        "/users": {"get": {
            "operationId": "listUsers", "tags": ["users"],
            "summary": "Admins: users by email prefix, with their limits and usage.",
            "parameters": [page_param(), per_page_param(50, 200),
                           {"name": "email", "in": "query", "required": False,
                            "schema": {"type": "string"}}],
            "responses": {"200": response("A page of users.", ref("UserPage")),
                          **errors(401, 403, 422)}}},
        "/users/{user_id}": {
            "parameters": [user_id],
            "get": {"operationId": "getUser", "tags": ["users"],
                    "summary": "Admins: one user's limits and usage.",
                    "responses": {"200": response("The user.", ref("User")),
                                  **errors(401, 403, 404)}},
            "patch": {"operationId": "updateUser", "tags": ["users"],
                      "summary": "Admins: change a user's limits (audited); held jobs that "
                                 "now fit are dispatched at once.",
                      "requestBody": {"required": True, "content": json_content(_object(
                          {"limits": ref("LimitsIn")}, optional=("limits",)))},
                      "responses": {"200": response("The user.", ref("User")),
                                    **errors(401, 403, 404, *BODY_ERRORS)}},
        },
    }
