"""Serving a finished job's files (and a project's uploads) to its owner, from the media
store, with HTTP range requests for seeking; or, with MEDIA_REDIRECT=1, a redirect to a
short-lived presigned URL so the bytes never pass through the web process.

The callers (the API and the dashboard) have checked that the job is the caller's.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from urllib.parse import quote

from flask import Response, current_app, redirect, request
from werkzeug.datastructures import Headers
from werkzeug.http import parse_range_header

from webapp.models import BackgroundJob
from webapp.render.outputs import MIMETYPES, files_of
from webapp.storage import MissingObject, ObjectInfo, get_store, is_key

CACHE_CONTROL = "private, max-age=0, must-revalidate"


def job_file_key(job: BackgroundJob, name: str) -> str | None:
    """The store key of a finished job's named file, or None."""
    filename = files_of(job).get(name)
    output = job.result.get("output") if filename else None
    key = f"{output}/{filename}" if isinstance(output, str) else None
    return key if key is not None and is_key(key) else None


def _ignore_unusable_range() -> None:
    """A Range header that is malformed, not in bytes, or asks for several ranges is ignored
    (RFC 9110 14.2: a server may ignore it), so the whole file is sent with 200; only one
    well-formed range that lies outside the file is answered 416."""
    parsed = parse_range_header(request.headers.get("Range"))
    if "Range" in request.headers and (parsed is None or parsed.units != "bytes"
                                       or len(parsed.ranges) != 1):
        request.environ.pop("HTTP_RANGE", None)


def send_job_file(job: BackgroundJob, name: str) -> Response | None:
    """The file as a conditional, range-capable response (or a redirect to a presigned URL
    under MEDIA_REDIRECT=1); `?download=1` saves it. None when there is no such file."""
    key = job_file_key(job, name)
    if key is None:
        return None
    filename = key.rsplit("/", 1)[-1]
    mimetype = (MIMETYPES.get(name) or mimetypes.guess_type(filename)[0]
                or "application/octet-stream")
    return send_stored(key, mimetype, f"{job.rq_id[:8]}-{filename}")


def send_stored(key: str, mimetype: str, download_name: str) -> Response | None:
    """The stored object `key` as a conditional, range-capable response, or a redirect to
    a presigned URL under MEDIA_REDIRECT=1; `?download=1` saves it as `download_name`.
    None when there is no such object. The caller has checked who may have it."""
    store = get_store()
    info = store.stat(key) if is_key(key) else None
    if info is None:
        return None
    disposition = _disposition("attachment" if request.args.get("download") == "1"
                               else "inline", download_name)
    config = current_app.config
    if config["MEDIA_REDIRECT"]:
        ttl = config["MEDIA_REDIRECT_TTL"]
        url = store.presign(key, ttl, content_type=mimetype, disposition=disposition,
                            cache_control=f"private, max-age={ttl}")
        if url is not None:
            response = redirect(url, 307)
            response.headers["Cache-Control"] = "private, no-store"
            return response
    return _stream(store, info, mimetype, disposition)


def _stream(store, info: ObjectInfo, mimetype: str, disposition: str) -> Response | None:
    """The object, whole (200), one range of it (206), or nothing (304, 412), with the same
    conditional and range rules werkzeug's send_file follows; only the bytes asked for are
    read from the store."""
    _ignore_unusable_range()
    response = Response(mimetype=mimetype, headers={"Content-Disposition": disposition},
                        direct_passthrough=True)
    response.set_etag(info.etag)
    response.last_modified = info.modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.content_length = info.size
    response.make_conditional(request, accept_ranges=True, complete_length=info.size)
    if response.status_code == 206:
        start = response.content_range.start
        length = response.content_range.stop - start
    elif response.status_code == 200:
        start, length = 0, None
    else:
        return response
    if request.method == "HEAD":
        return response
    try:
        response.response = store.read(info.key, start, length)
    except MissingObject:  # deleted since it was looked up
        return None
    return response


def _disposition(kind: str, download_name: str) -> str:
    """Content-Disposition with an ASCII file name and, when needed, the UTF-8 one (what
    werkzeug's send_file sends)."""
    headers = Headers()
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore")
        names = {"filename": simple.decode("ascii"),
                 "filename*": f"UTF-8''{quote(download_name, safe='!#$&+-.^_`|~')}"}
    else:
        names = {"filename": download_name}
    headers.set("Content-Disposition", kind, **names)
    return headers["Content-Disposition"]

