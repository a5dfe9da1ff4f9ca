"""Serving a finished job's files to its owner, with HTTP range requests for seeking."""

from __future__ import annotations

import mimetypes

from flask import Response, request, send_file
from werkzeug.http import parse_range_header

from webapp.models import BackgroundJob
from webapp.render import storage
from webapp.render.outputs import MIMETYPES, files_of


def job_file_path(job: BackgroundJob, name: str):
    """Where a finished job's named file is on disk, or None."""
    filename = files_of(job).get(name)
    output = job.result.get("output") if filename else None
    folder = storage.resolve(output) if isinstance(output, str) else None
    if folder is None:
        return None
    path = folder / filename
    return path if path.is_file() else None


def _ignore_unusable_range() -> None:
    """A Range header that is malformed, not in bytes, or asks for several ranges is ignored
    (RFC 9110 14.2: a server may ignore it), so the whole file is sent with 200; only one
    well-formed range that lies outside the file is answered 416."""
    parsed = parse_range_header(request.headers.get("Range"))
    if "Range" in request.headers and (parsed is None or parsed.units != "bytes"
                                       or len(parsed.ranges) != 1):
        request.environ.pop("HTTP_RANGE", None)


def send_job_file(job: BackgroundJob, name: str) -> Response | None:
    """The file as a conditional, range-capable response; `?download=1` saves it."""
    path = job_file_path(job, name)
    if path is None:
        return None
    _ignore_unusable_range()
    mimetype = MIMETYPES.get(name) or mimetypes.guess_type(path.name)[0]
    download = request.args.get("download") == "1"
    response = send_file(path, mimetype=mimetype, conditional=True, etag=True,
                         as_attachment=download, download_name=f"{job.rq_id[:8]}-{path.name}",
                         max_age=0)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response
