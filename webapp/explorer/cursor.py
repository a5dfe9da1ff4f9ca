"""The opaque position in a keyset listing: a signed (created_at, id, direction).

It is signed with the app's secret key, so a cursor someone edited (or one from another
deployment) is refused with a 422 naming `cursor` rather than read as a position.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from webapp.models import BackgroundJob
from webapp.validation import ParamsError

SALT = "cutroom.jobs-cursor"
MAX_LENGTH = 300  # ours are about 110 characters


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just after (`older`) or just before this row, in list order."""

    created_at: datetime
    id: uuid.UUID
    older: bool = True


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def encode(job: BackgroundJob, older: bool) -> str:
    """The cursor of the page that follows `job` (older) or precedes it (newer)."""
    return _serializer().dumps([job.created_at.isoformat(), job.rq_id, int(older)])


def decode(raw: str | None) -> Cursor | None:
    """The position in `raw` (None for none); ParamsError for anything we did not sign."""
    if not raw:
        return None
    try:
        if len(raw) > MAX_LENGTH:
            raise ValueError("too long")
        created, job_id, older = _serializer().loads(raw)
        cursor = Cursor(datetime.fromisoformat(created), uuid.UUID(job_id), bool(older))
        if cursor.created_at.tzinfo is None:
            raise ValueError("no time zone")
    except (BadData, ValueError, TypeError, AttributeError):
        raise ParamsError([{"field": "cursor", "message": "Not a cursor from this listing: "
                            "start again from the first page."}]) from None
    return cursor
