"""Reading an uploaded file out of a multipart request, within the media limits.

The app's MAX_REQUEST_BYTES (1 MiB) is for forms and JSON; an upload's request may be as
large as the largest file the route takes, plus room for the form's other fields. Werkzeug
spools a large file to a temporary file as it arrives; it is copied into the upload's own
scratch folder, where it is inspected (webapp/media/inspect.py) and, if it may be kept,
stored. The sender's file name is kept for display only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.media.inspect import KINDS, MediaLimits
from webapp.validation import ParamsError

FIELD = "file"
FORM_ROOM = 64 * 1024  # bytes of the request beyond the file: boundaries, CSRF token, fields
NAME_CHARS = 200
_KINDS_ATTRIBUTE = "cutroom_upload_kinds"


def accepts(*kinds: str) -> Callable:
    """Mark a view as taking an upload of one of `kinds`: its requests may be as large as
    the largest of them (set before anything reads the form, the CSRF check included)."""
    def mark(view: Callable) -> Callable:
        setattr(view, _KINDS_ATTRIBUTE, kinds)
        return view
    return mark


def init_app(app: Flask) -> None:
    """Size limits for upload routes, and a 413 that names the file field. Call before the
    CSRF check is installed (webapp/security.py), so its before_request runs first."""
    app.before_request(_allow_upload_size)
    app.register_error_handler(RequestEntityTooLarge, _too_large_answer)


def _upload_kinds() -> tuple[str, ...] | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, _KINDS_ATTRIBUTE, None)


def _allow_upload_size() -> None:
    if kinds := _upload_kinds():
        request.max_content_length = _most(kinds) + FORM_ROOM


def _most(kinds: tuple[str, ...]) -> int:
    return max(limits().bytes_for(kind) for kind in kinds)


def _too_large_answer(exc: RequestEntityTooLarge):
    from webapp.errors import error_response, show_error, wants_json

    kinds = _upload_kinds()
    if not kinds:
        return show_error(413, "That is too large to send.", code="payload_too_large")
    message = _too_large(kinds, _most(kinds))
    if wants_json():
        return error_response(413, message, "payload_too_large",
                              [{"field": FIELD, "message": message}])
    return show_error(413, message, code="payload_too_large")


@dataclass(frozen=True)
class Upload:
    """A received file: where it is on this machine, and the name its sender gave it."""

    path: Path
    name: str


def limits() -> MediaLimits:
    """The upload limits of the current app (the MEDIA_* settings)."""
    config = current_app.config
    return MediaLimits(image_bytes=config["MEDIA_IMAGE_BYTES"],
                       clip_bytes=config["MEDIA_CLIP_BYTES"],
                       music_bytes=config["MEDIA_MUSIC_BYTES"],
                       pixels=config["MEDIA_MAX_PIXELS"],
                       clip_seconds=float(config["MEDIA_CLIP_SECONDS"]),
                       music_seconds=float(config["MEDIA_MUSIC_SECONDS"]))


def receive(kinds: tuple[str, ...], into: Path) -> Upload:
    """The request's `file` field, saved into the folder `into`; ParamsError naming the
    field when there is none. (A request larger than the largest of the view's kinds was
    answered 413 before it was read: `accepts`.)"""
    sent = request.files.get(FIELD)
    if sent is None or not sent.filename:
        what = " or ".join(KINDS[kind] for kind in kinds)
        raise ParamsError([{"field": FIELD, "message": f"Choose a {what} to upload (a "
                            f"multipart/form-data request with the file in `{FIELD}`)."}])
    path = into / "upload"
    with path.open("wb") as out:
        shutil.copyfileobj(sent.stream, out, 1 << 20)
    return Upload(path, display_name(sent.filename))


def display_name(name: str) -> str:
    """The sender's name for showing: its last path segment, without control characters,
    at most NAME_CHARS long."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in last if ch.isprintable()).strip()
    return (clean or "upload")[:NAME_CHARS]


def _too_large(kinds: tuple[str, ...], most: int) -> str:
    what = " or ".join(KINDS[kind] for kind in kinds)
    return f"The upload is larger than a {what} may be ({most / 1048576:.0f} MB at most)."
