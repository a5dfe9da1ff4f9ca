"""Accounts and API tokens: creation, password checks and changes, token lookup."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.sessions import revoke_all_sessions

TOKEN_PREFIX = "crt_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # longer ones are cut there at sign-in
# Last-used times are refreshed at most this often, so tokens do not cost a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the email is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why (and `field`, of a
    form, which field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The user with this email (case-insensitive), or None."""
    email = normalize_email(email)
    if "\x00" in email:  # PostgreSQL cannot even compare such a string: no one has it
        return None
    return db.session.scalar(select(User).where(User.email == email))


def create_user(email: str, password: str, is_admin: bool = False) -> User:
    """Create an account; flushes, the caller commits."""
    email = normalize_email(email)
    if ("@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@")
            or any(ord(c) < 33 for c in email)):
        raise AccountError(f"{email!r} is not an email address.")
    _check_new_password(password)
    if find_user(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    user = User(email=email, password_hash=generate_password_hash(password), is_admin=is_admin)
    try:
        with db.session.begin_nested():  # the unique email decides a race, not the check above
            db.session.add(user)
    except IntegrityError:
        raise AccountError(f"An account for {email} already exists.") from None
    return user


def _check_new_password(password: str, field: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
                           field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.",
                           field)


def set_password(user: User, password: str, field: str | None = None) -> int:
    """Give the user a new password and end all their sessions (API tokens stay); returns how
    many sessions ended. Flushes, the caller commits."""
    _check_new_password(password, field)
    user.password_hash = generate_password_hash(password)
    db.session.flush()
    return revoke_all_sessions(user)


def authenticate(email: str, password: str) -> User | None:
    """The user if the password matches, else None."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password(user, password) else None


def check_password(user: User, password: str) -> bool:
    """Whether `password` is the user's password."""
    return check_password_hash(user.password_hash, password[:MAX_PASSWORD_LENGTH])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for the user; returns the row and the secret, which is shown once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("A token name must have 1 to 100 characters.")
    if any(ord(c) < 32 for c in name):
        raise AccountError("A token name must not contain control characters.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.flush()
    return token, secret


# Built once: every API call by token runs it.
_OWNER = (select(User, ApiToken.id, ApiToken.last_used_at)
          .join(ApiToken, ApiToken.user_id == User.id)
          .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None)))


def user_for_token(secret: str) -> User | None:
    """The owner of a valid, unrevoked token, refreshing its last-used time.

    One query (the user joined), read on every call: a revocation takes effect with its
    commit, and there is no cache to outlive it."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    found = db.session.execute(_OWNER, {"digest": _digest(secret)}).first()
    if found is None:
        return None
    user, token_id, last_used = found
    now = datetime.now(UTC)
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=func.now())
        )
        db.session.commit()
    return user


def revoke_token(token: ApiToken) -> None:
    """Revoke a token; flushes, the caller commits."""
    token.revoked_at = datetime.now(UTC)
    db.session.flush()
