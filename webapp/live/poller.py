"""The page's one poller: what it carries, and the validator of the full path.

A page with live parts renders one poller (templates/live/_poller.html): every 2 s it asks
/live, sending its validator (`v`: the change tokens as they were before the page read its
rows, webapp/jobs/changes.py) and the page's live inputs (webapp/live/regions.py). An
unchanged poll is answered before Flask (webapp/live/shortcut.py); the rest take the full
path: Flask-Login checks the session in PostgreSQL, then `checked` writes the session's
cache entry and reads the tokens again, then the rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import g, session
from redis.exceptions import RedisError

from webapp import session_cache
from webapp.jobs import changes
from webapp.jobs.connection import get_quick_redis
from webapp.live.shortcut import signed_in
from webapp.models import User
from webapp.security import SESSION_EXPIRES_KEY

INTERVAL = "2s"


@dataclass(frozen=True)
class Poller:
    """What the poller element needs: the validator, and whether it polls at all."""

    v: str
    armed: bool = False
    interval: str = INTERVAL

    def arm(self, armed: bool = True) -> Poller:
        return replace(self, armed=armed)


def start(user: User) -> Poller:
    """A page's poller, unarmed; make it before reading the page's rows."""
    try:
        return Poller(changes.current_validator(get_quick_redis(), user.id, user.is_admin))
    except RedisError:
        return Poller("")  # every poll takes the full path until Redis answers


def rearmed() -> Poller:
    """For an answer that made a part live (a retry, a launch): it polls, and its first
    poll takes the full path (the rest of the page was not read again)."""
    return Poller("", armed=True)


def checked(user: User) -> Poller:
    """The full path's poller, once PostgreSQL said this session is live: the session's
    cache entry is written and the tokens read (made if missing), in one round trip."""
    cookie = signed_in(session)
    try:
        pipe = get_quick_redis().pipeline(transaction=False)
        if (cookie is not None and cookie[0] == str(user.id)
                and g.get("user_session_id") is not None):
            session_cache.remember(pipe, session_cache.digest(cookie[1]), user.id,
                                   user.is_admin, session[SESSION_EXPIRES_KEY])
        changes.queue_tokens(pipe, user.id)
        return Poller(changes.validator(pipe.execute()[-1], user.is_admin) or "")
    except RedisError:
        return Poller("")
