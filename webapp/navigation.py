"""Where to send the browser after a form: only ever a path on this site."""

from __future__ import annotations


def local_path(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback` (no open redirects)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(c) < 32 or c == "\x7f" for c in target)):
        return target
    return fallback
