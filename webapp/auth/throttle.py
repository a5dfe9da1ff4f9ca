"""Sign-in throttling that someone who knows only an email cannot turn against its owner.

Every attempt is counted in Redis (webapp/ratelimit.py) before its password is checked, so
parallel attempts cannot slip past a limit. From a browser that is not trusted for the
account, an attempt must pass, in order:
- LOGIN_LIMIT_ADDRESS: attempts from one address (IPv6: one /64) on any account (spraying);
- LOGIN_LIMIT_PAIR: attempts on this account from this address; past it, 429 for this pair
  only: the owner elsewhere is not held up;
- LOGIN_SLOWDOWN_AFTER, then LOGIN_SLOWDOWN: once an account has had that many attempts
  from untrusted browsers, it takes at most one such attempt every few seconds: a slowdown
  for an attack spread over many addresses, never a lockout.
A browser that has signed in to the account carries a signed, long-lived device cookie for
it (OWASP's device cookie): its attempts are counted per (account, device) against
LOGIN_LIMIT_PAIR only, so the owner gets in whatever an attacker does elsewhere. A successful
sign-in clears its pair's count. Redis unreachable: 503, never an unthrottled check.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
from dataclasses import dataclass

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from redis.exceptions import RedisError

from webapp.auth.services import normalize_email
from webapp.ratelimit import Refusal, get_limits

log = logging.getLogger(__name__)

DEVICE_COOKIE = "cutroom_device"
_DEVICE_SALT = "cutroom.trusted-device"
MAX_DEVICE_ACCOUNTS = 10
UNAVAILABLE_RETRY_AFTER = 30


@dataclass(frozen=True)
class Verdict:
    """An attempt refused before its password was checked: status, message, Retry-After."""

    status: int
    message: str
    retry_after: int


def admit(email: str) -> Verdict | None:
    """Count this sign-in attempt; None if its password may be checked."""
    account = _account(email)
    device = trusted_device(account)
    try:
        if device is not None:
            refused = get_limits().hit(current_app.config["LOGIN_LIMIT_PAIR"], "sign-in:device",
                                       account, device)
            return _verdict(refused, "for this account from this browser")
        return _untrusted(account, _address())
    except RedisError as exc:
        log.warning("sign-in refused: Redis unreachable for its rate limits (%s)", exc)
        return Verdict(503, "Sign-in is unavailable for a moment: the service that counts "
                       "sign-in attempts cannot be reached. Try again in a minute.",
                       UNAVAILABLE_RETRY_AFTER)


def _untrusted(account: str, address: str) -> Verdict | None:
    limits, config = get_limits(), current_app.config
    if refused := limits.hit(config["LOGIN_LIMIT_ADDRESS"], "sign-in:address", address):
        return _verdict(refused, "from your network")
    if refused := limits.hit(config["LOGIN_LIMIT_PAIR"], "sign-in:pair", account, address):
        return _verdict(refused, "for this account from your network")
    if limits.hit(config["LOGIN_SLOWDOWN_AFTER"], "sign-in:account", account) is None:
        return None
    if refused := limits.hit(config["LOGIN_SLOWDOWN"], "sign-in:slow", account):
        return Verdict(429, "This account has had many failed sign-ins lately, so attempts on "
                       f"it are slowed down: try again in {_wait(refused.retry_after)}. A "
                       "browser that has signed in to it before is not slowed down.",
                       refused.retry_after)
    return None


def signed_in(email: str, response: Response) -> None:
    """After a successful sign-in: clear this pair's count and trust this browser for the
    account from now on."""
    account = _account(email)
    device = trusted_device(account)
    keys = (("sign-in:device", account, device) if device is not None
            else ("sign-in:pair", account, _address()))
    try:
        get_limits().clear(current_app.config["LOGIN_LIMIT_PAIR"], *keys)
    except RedisError as exc:  # the sign-in stands; the pair's count runs out on its own
        log.warning("could not clear a sign-in count: Redis unreachable (%s)", exc)
    _remember_device(response, account)


def trusted_device(account: str) -> str | None:
    """This browser's device id if its device cookie is valid and names `account`."""
    cookie = _read_device_cookie()
    return cookie["d"] if cookie and account in cookie["a"] else None


def _remember_device(response: Response, account: str) -> None:
    cookie = _read_device_cookie() or {"d": secrets.token_urlsafe(16), "a": []}
    accounts = [a for a in cookie["a"] if a != account][-(MAX_DEVICE_ACCOUNTS - 1):]
    value = _serializer().dumps({"d": cookie["d"], "a": [*accounts, account]})
    response.set_cookie(DEVICE_COOKIE, value, max_age=_device_days() * 86400, path="/login",
                        httponly=True, samesite="Lax",
                        secure=current_app.session_interface.get_cookie_secure(current_app))


def _read_device_cookie() -> dict | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        cookie = _serializer().loads(raw, max_age=_device_days() * 86400)
    except BadData:
        return None
    if (not isinstance(cookie, dict) or not isinstance(cookie.get("d"), str)
            or not isinstance(cookie.get("a"), list)):
        return None
    return cookie


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)


def _device_days() -> int:
    return current_app.config["TRUSTED_DEVICE_DAYS"]


def _account(email: str) -> str:
    """The account's key: a digest, so Redis holds no email addresses."""
    return hashlib.sha256(normalize_email(email).encode("utf-8", "replace")).hexdigest()[:32]


def _address() -> str:
    """The caller's address; an IPv6 caller is one /64 (one customer's whole network)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _verdict(refused: Refusal | None, where: str) -> Verdict | None:
    if refused is None:
        return None
    return Verdict(429, f"Too many sign-in attempts {where}. Try again in "
                   f"{_wait(refused.retry_after)}.", refused.retry_after)


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"
