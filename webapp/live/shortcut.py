"""The answer to an unchanged poll, before Flask: 204 from the signed cookie and one Redis
round trip, no PostgreSQL.

It sits in front of the Flask app (WSGI middleware) because that answer is most of the
traffic of open dashboards, and Flask's own work per request (contexts, hooks, headers)
costs several times what the answer does (bench/poll.py). It answers only when all of this
holds; anything else goes on to the Flask view (webapp/live/views.py), which takes the full
path:

- a GET of the poll's path with a validator (`v`) and at least one live input;
- a session cookie that Flask would accept (the same serializer, keys and maximum age)
  naming a user, a session secret and an expiry still ahead;
- in Redis, the session cache entry of that secret's hash (webapp/session_cache.py): live,
  the same user, not past its expiry, and not a tombstone;
- the change tokens the entry says this viewer compares (webapp/jobs/changes.py), equal
  to `v`.

It never answers with content, and with Redis unreachable it steps aside.
"""

from __future__ import annotations

import time
from urllib.parse import unquote_plus

from flask import Flask
from itsdangerous import BadSignature
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.http import parse_cookie

from webapp import session_cache
from webapp.auth.login import SESSION_SECRET_KEY
from webapp.jobs import changes
from webapp.live.regions import watched_kinds
from webapp.security import SESSION_EXPIRES_KEY
from webapp.sessions import MAX_SECRET_LENGTH

PATH = "/live"
NOTHING_NEW = "204 No Content"
# An empty answer: none of the page headers (webapp/security.py) applies to it, and each
# costs gunicorn's Python time.
_HEADERS = [("Cache-Control", "no-store")]
# Session cookies whose signature this process has checked. A session's cookie is signed
# again whenever a full-path request refreshes it, so old ones pile up: past this many
# (a few MB) the memo starts over.
VERIFIED_MAX = 10_000


def poll_query(query: str) -> tuple[str, bool]:
    """(validator, whether any live input is there) of a poll's query string."""
    validator, live, kinds = "", False, watched_kinds()
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "v":
            validator = unquote_plus(value)
        elif name in kinds and value:
            live = True
    return validator, live


def signed_in(cookie: dict) -> tuple[str, str] | None:
    """(user id, session secret) of a session cookie's content, if it has a live sign-in."""
    user_id, secret = cookie.get("_user_id"), cookie.get(SESSION_SECRET_KEY)
    expires = cookie.get(SESSION_EXPIRES_KEY)
    if not (isinstance(user_id, str) and user_id.isdigit() and len(user_id) <= 9
            and isinstance(secret, str) and 0 < len(secret) <= MAX_SECRET_LENGTH
            and isinstance(expires, int) and expires > time.time()):
        return None
    return user_id, secret


def unchanged(redis: Redis, user_id: str, secret: str, validator: str) -> bool:
    """Whether the session's cache entry is live and the tokens equal `validator`."""
    try:
        raw, *tokens = redis.mget(session_cache.key(session_cache.digest(secret)),
                                  *changes.keys_for(int(user_id)))
    except RedisError:
        return False
    entry = session_cache.Entry.parse(raw)
    return (entry is not None and entry.live_for(user_id)
            and changes.validator(tokens, entry.admin) == validator)


class UnchangedPolls:
    """WSGI middleware: 204 for an unchanged poll, everything else to the app."""

    def __init__(self, app: Flask, wsgi_app, redis: Redis):
        self.app = app
        self.wsgi_app = wsgi_app
        self.redis = redis
        self._serializer = None
        self._verified: dict[str, tuple[dict, float]] = {}  # cookie: (content, signed at)

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET"
                and self._unchanged(environ)):
            start_response(NOTHING_NEW, list(_HEADERS))
            return []
        return self.wsgi_app(environ, start_response)

    def _unchanged(self, environ) -> bool:
        validator, live = poll_query(environ.get("QUERY_STRING", ""))
        if not (validator and live):
            return False
        raw = parse_cookie(environ).get(self.app.config["SESSION_COOKIE_NAME"])
        if not raw:
            return False
        try:
            who = signed_in(self.cookie(raw))
        except (BadSignature, ValueError, TypeError, AttributeError):
            return False
        return who is not None and unchanged(self.redis, *who, validator)

    def cookie(self, raw: str) -> dict:
        """The content of a session cookie Flask would accept; BadSignature if it would not.

        Its signature is checked once per process (HMAC, base64 and JSON: the largest part
        of an unchanged poll's own cost, bench/poll.py), its age on every poll."""
        max_age = int(self.app.permanent_session_lifetime.total_seconds())
        known = self._verified.get(raw)
        if known is None:
            content, signed = self.serializer().loads(raw, max_age=max_age,
                                                      return_timestamp=True)
            if len(self._verified) >= VERIFIED_MAX:
                self._verified.clear()
            known = self._verified[raw] = (content, signed.timestamp())
        content, signed_at = known
        if not 0 <= time.time() - signed_at <= max_age:
            raise BadSignature("the session cookie is past its maximum age")
        return content

    def serializer(self):
        """Flask's own cookie serializer (its keys, salt and signer), made once."""
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        return self._serializer
