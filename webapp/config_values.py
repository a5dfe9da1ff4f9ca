"""Typed values read from environment variables, with errors that name the variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# The checkout: defaults such as instance/ live under it.
ROOT = Path(__file__).resolve().parent.parent

_SIZE = re.compile(r"(\d+)\s*(?:([kmgt])(?:i?b)?|b)?", re.IGNORECASE)


class ConfigError(RuntimeError):
    """A configuration variable is missing or malformed."""


def int_value(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def float_value(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")
    return raw == "1"


def size(env: Mapping[str, str], name: str, default: int) -> int:
    """A size in bytes, optionally with a binary unit: 500M, 2G, 2GiB."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    match = _SIZE.fullmatch(raw)
    if match is None:
        raise ConfigError(f"{name} must be a size in bytes such as 2147483648 or 2G, got "
                          f"{raw!r}")
    return int(match.group(1)) << (10 * " kmgt".index((match.group(2) or " ").lower()))
