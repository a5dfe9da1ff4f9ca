"""Which sign-in sessions were live a moment ago, in Redis: lets a live page's poll answer
"nothing changed" (an empty 204) without asking PostgreSQL who is signed in.

An entry is keyed by the SHA-256 of the cookie's session secret (what `user_sessions`
stores, never the secret itself) and says whose session it is, whether that user is an
admin (which change token the page compares) and when the session expires. It is written
after PostgreSQL said the session is live (a poll that took the full path), and lasts at
most TTL seconds and never past the session's expiry.

Ending a session makes it a tombstone, after the commit that ended it (sign-out, sign out
everywhere, a password change, revoking one session, deleting the user): a tombstone is
written over any entry and no entry can be written over it for TTL seconds, which is longer
than any request that read "live" before the commit could still be running (statement
timeouts are seconds). So once the revocation is committed and Redis has it, no poll of that
session answers from the cache; it takes the full path, which answers 401.

Whatever the cache says, it only ever lets a poll answer 204: anything with content (a card,
a page) is sent after the full check in PostgreSQL. With Redis unreachable at revocation,
the worst a revoked session gets is empty 204s until its entry expires (TTL), never content.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from webapp import aftercommit

KIND = "ended_sessions"
PREFIX = "cutroom:session:"
TTL = 300  # seconds an entry lives (and a tombstone: at least as long as any entry)
TOMBSTONE = "ended"


def digest(secret: str) -> str:
    """The session secret's SHA-256, as `user_sessions.secret_hash` keeps it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key(secret_hash: str) -> str:
    return PREFIX + secret_hash


@dataclass(frozen=True)
class Entry:
    """A session PostgreSQL found live: whose, an admin's or not, until when (Unix time)."""

    user_id: int
    admin: bool
    expires: int

    @classmethod
    def parse(cls, raw: bytes | str | None) -> Entry | None:
        """The entry of a stored value; None for no entry, a tombstone or garbage."""
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        user_id, _, rest = text.partition(":")
        admin, _, expires = rest.partition(":")
        if not (user_id.isdigit() and admin in ("0", "1") and expires.isdigit()):
            return None
        return cls(int(user_id), admin == "1", int(expires))

    def live_for(self, user_id: str, now: float | None = None) -> bool:
        """Whether this entry vouches for a cookie of `user_id` now."""
        return str(self.user_id) == user_id and self.expires > (now or time.time())


def remember(pipe: Pipeline | Redis, secret_hash: str, user_id: int, admin: bool,
             expires: int) -> None:
    """Queue the entry of a session PostgreSQL just found live (never over a tombstone)."""
    ttl = min(TTL, int(expires - time.time()))
    if ttl > 0:
        pipe.set(key(secret_hash), f"{user_id}:{int(admin)}:{expires}", ex=ttl, nx=True)


def note_ended(session, secret_hashes) -> None:
    """These sessions end with this transaction: tombstone them once it commits."""
    aftercommit.note(session, KIND, secret_hashes)


@aftercommit.sender(KIND)
def _bury(pipe: Pipeline, secret_hashes: set) -> None:
    for secret_hash in secret_hashes:
        pipe.set(key(secret_hash), TOMBSTONE, ex=TTL)
