"""Sign-in sessions recorded in PostgreSQL, so the server can end them.

The signed session cookie carries a random secret; the `user_sessions` row keeps only its
SHA-256, the user, an absolute expiry and what the owner needs to recognise it. A cookie
counts only while its row is live. Used by sign-in (webapp/auth) and by the reconciler,
which prunes rows that ended a while ago. Every way a session ends (revoking it or all of a
user's, deleting the user) also ends its entry in the live pages' cache
(webapp/session_cache.py) once the transaction commits.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import User, UserSession
from webapp.session_cache import digest as _digest
from webapp.session_cache import note_ended

log = logging.getLogger(__name__)

# last_seen_at is refreshed at most this often, so a session costs no write per request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Ended sessions stay this long (for the record), then the reconciler deletes them.
KEEP_ENDED = timedelta(days=7)
MAX_SECRET_LENGTH = 100


def _printable(text: str | None, limit: int) -> str | None:
    """Header text fit for a column: no control characters (NUL included), at most `limit`."""
    if not text:
        return None
    return "".join(c for c in text if c.isprintable())[:limit] or None


def start_session(user: User, lifetime: timedelta, address: str | None,
                  user_agent: str | None) -> tuple[UserSession, str]:
    """A new live session for `user`; returns the row and the secret for the cookie. Flushes."""
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)  # not the transaction's now(): it began before the password check
    record = UserSession(user_id=user.id, secret_hash=_digest(secret), created_at=now,
                         last_seen_at=now, expires_at=now + lifetime,
                         address=_printable(address, 64), user_agent=_printable(user_agent, 255))
    db.session.add(record)
    db.session.flush()
    return record, secret


def user_for_session(user_id: str, secret: str | None) -> tuple[User, int] | None:
    """The user and session id if `secret` names a live session of user `user_id`, else None.

    One query (the user joined), plus a last-seen write at most once a minute."""
    if not secret or len(secret) > MAX_SECRET_LENGTH or not user_id.isdigit() or len(user_id) > 9:
        return None
    found = db.session.execute(
        select(User, UserSession.id, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(user_id), UserSession.secret_hash == _digest(secret),
               UserSession.revoked_at.is_(None), UserSession.expires_at > func.now())
    ).first()
    if found is None:
        return None
    user, session_id, last_seen = found
    if datetime.now(UTC) - last_seen > LAST_SEEN_RESOLUTION:
        db.session.execute(update(UserSession).where(UserSession.id == session_id)
                           .values(last_seen_at=func.now()))
        db.session.commit()
    return user, session_id


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that still work, most recently seen first."""
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
               UserSession.expires_at > func.now())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def revoke_session(user: User, session_id: int) -> bool:
    """End one of the user's sessions for good; False if it has no such live session. Flushes."""
    return bool(_revoke(UserSession.id == session_id, UserSession.user_id == user.id))


def revoke_all_sessions(user: User) -> int:
    """End every session of the user (API tokens are not sessions: they stay). Flushes."""
    return _revoke(UserSession.user_id == user.id)


def _revoke(*where) -> int:
    """Revoke the live sessions that match; their cache entries end after the commit."""
    ended = db.session.scalars(
        update(UserSession).where(*where, UserSession.revoked_at.is_(None))
        .values(revoked_at=func.now()).returning(UserSession.secret_hash)).all()
    note_ended(db.session, ended)
    return len(ended)


def init_app() -> None:
    """Deleting a user ends their sessions' cache entries too (once per process)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def _before_flush(session: Session, _context, _instances) -> None:
    gone = [user.id for user in session.deleted if isinstance(user, User)]
    if gone:
        note_ended(session, session.scalars(
            select(UserSession.secret_hash).where(UserSession.user_id.in_(gone))).all())


def prune_sessions(now: datetime) -> int:
    """Delete sessions that were revoked or expired more than KEEP_ENDED ago; the caller
    commits. Returns how many."""
    cutoff = now - KEEP_ENDED
    pruned = db.session.execute(delete(UserSession).where(
        or_(UserSession.revoked_at < cutoff, UserSession.expires_at < cutoff))).rowcount
    if pruned:
        log.info("pruned %d ended sign-in sessions", pruned)
    return pruned
