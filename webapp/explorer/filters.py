"""The jobs explorer's filter: read from a query string (the page's GET form, `GET
/api/v1/jobs`) or a JSON object (`POST /api/v1/jobs/bulk`), checked field by field.

Bad input is a ParamsError naming each bad field (a 422), never a database error. Times are
ISO 8601; one without a zone is UTC, and a date alone means the whole day: `created_after
=2026-12-01` is from its midnight, `created_before=2026-12-03` up to the end of the 3rd.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from webapp.models import STATUSES
from webapp.validation import ParamsError, unstorable_text

STATUS_VALUES = tuple(s.value for s in STATUSES)
# Longest text each field may have: its column's length (a longer value matches nothing).
TEXT_LIMITS = {"task": 64, "queue": 64, "user": 254, "error_code": 32, "stage": 200, "q": 200}
MIN_QUERY = 3  # shorter prefixes match too many words to be worth an index lookup
MAX_PROJECT_ID = 2**31 - 1
TIME_FIELDS = ("created_after", "created_before", "ended_after", "ended_before")


@dataclass(frozen=True)
class JobFilter:
    """Which jobs to show or act on; an empty filter is every job the viewer may see."""

    status: tuple[str, ...] = ()
    task: str | None = None
    queue: str | None = None
    user: str | None = None  # an email: admins filter by owner, others see only their own
    project_id: int | None = None
    error_code: str | None = None
    stage: str | None = None  # a case-insensitive prefix of the job's last stage
    q: str | None = None  # id prefix, or words (word* a prefix) of the error and parameters
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    ended_after: datetime | None = None
    ended_before: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return self == JobFilter()

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, as JSON values (what `from_json` reads back)."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value in (None, ()):
                continue
            out[name] = (value.isoformat() if isinstance(value, datetime)
                         else list(value) if isinstance(value, tuple) else value)
        return out

    def to_args(self) -> dict[str, Any]:
        """The fields that are set, as query arguments (`status` a list: repeated)."""
        return {name: value if isinstance(value, list) else str(value)
                for name, value in self.to_json().items()}


FIELDS = tuple(f.name for f in fields(JobFilter))


def from_args(args: Any) -> JobFilter:
    """The filter in a query string (a werkzeug MultiDict); other arguments are ignored."""
    raw: dict[str, Any] = {name: args.get(name) for name in FIELDS}
    raw["status"] = args.getlist("status")
    return _parse(raw, "")


def from_json(value: Any, prefix: str = "filter") -> JobFilter:
    """The filter in a JSON object; unknown keys are refused."""
    if not isinstance(value, Mapping):
        raise ParamsError([{"field": prefix, "message": "Must be an object."}])
    unknown = sorted(str(key) for key in value if key not in FIELDS)
    if unknown:
        raise ParamsError([{"field": f"{prefix}.{key}", "message": "Unknown filter."}
                           for key in unknown])
    raw = dict(value)
    if isinstance(raw.get("status"), str):
        raw["status"] = [raw["status"]]
    return _parse(raw, f"{prefix}.")


class _Bad(ValueError):
    """One field's value is refused; the message says why."""


def _parse(raw: Mapping[str, Any], prefix: str) -> JobFilter:
    values: dict[str, Any] = {}
    problems = []
    for name, parse in _PARSERS.items():
        try:
            values[name] = parse(raw.get(name), name)
        except _Bad as exc:
            problems.append({"field": prefix + name, "message": str(exc)})
    if problems:
        raise ParamsError(problems)
    return replace(JobFilter(), **values)


def _statuses(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad("Must be a list of statuses.")
    chosen = [v for v in value if v]
    if wrong := [v for v in chosen if v not in STATUS_VALUES]:
        raise _Bad(f"{wrong[0][:40]!r} is not a status; use any of: {', '.join(STATUS_VALUES)}.")
    return tuple(s for s in STATUS_VALUES if s in chosen)  # lifecycle order, no repeats


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("Must be a string.")
    value = value.strip()
    if not value:
        return None
    if unstorable_text(value):
        raise _Bad("Must not contain NUL characters or unpaired surrogates.")
    if len(value) > TEXT_LIMITS[name]:
        raise _Bad(f"At most {TEXT_LIMITS[name]} characters.")
    if name == "q" and len(value) < MIN_QUERY:
        raise _Bad(f"Type at least {MIN_QUERY} characters to search.")
    return value


def _project(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PROJECT_ID:
        raise _Bad("Must be a project id (a whole number from 1).")
    return value


def _time(value: Any, name: str) -> datetime | None:
    text = value.strip() if isinstance(value, str) else value
    if text is None or text == "":
        return None
    if not isinstance(text, str) or len(text) > 40:
        raise _Bad("Must be an ISO 8601 date or time, e.g. 2026-12-01T09:30:00Z.")
    try:
        if len(text) == 10:  # a date alone: the whole day
            moment = datetime.combine(date.fromisoformat(text), time(), UTC)
            return moment + timedelta(days=1) if name.endswith("_before") else moment
        moment = datetime.fromisoformat(text.upper())
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad("Must be an ISO 8601 date or time, e.g. 2026-12-01T09:30:00Z.") from None


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "status": _statuses, "task": _text, "queue": _text, "user": _text, "project_id": _project,
    "error_code": _text, "stage": _text, "q": _text,
    **{name: _time for name in TIME_FIELDS},
}
