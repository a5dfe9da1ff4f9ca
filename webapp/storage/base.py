"""What every media store offers: put a finished file, read it with byte ranges, know whether
it exists, list and delete by prefix, publish a finished folder in one step, presign.

Keys are relative paths with `/` between segments (`projects/7/video/<hash>/video.mp4`). A
segment that starts with a dot is never a key: those are scratch folders and partial files.
The backends (local.py, s3.py) import nothing of the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024
_SEGMENT = re.compile(r"[^/\\\x00-\x1f\x7f]+")


class StorageError(RuntimeError):
    """The store refused or failed an operation (unreachable, bad credentials, full)."""


class MissingObject(KeyError):
    """No object under this key."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key, its size in bytes, an opaque version tag, and when it
    was written (UTC)."""

    key: str
    size: int
    etag: str
    modified: datetime


def check_key(key: str, prefix: bool = False) -> str:
    """`key` if it is a safe relative key (a prefix may be empty or end with `/`), else
    ValueError: no empty, `.` or `..` segment, no segment starting with a dot, no
    backslash or control character."""
    body = key[:-1] if prefix and key.endswith("/") else key
    if prefix and body == "":
        return key
    segments = body.split("/")
    if not all(_SEGMENT.fullmatch(s) and not s.startswith(".") for s in segments):
        raise ValueError(f"not a media key: {key!r}")
    return key


def is_key(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return False
    return True


class MediaStore(Protocol):
    """The operations the render pipeline and the file endpoints use."""

    name: str

    def put(self, key: str, source: Path | bytes, content_type: str | None = None) -> None:
        """Store a finished file (or bytes) under `key`: readers see all of it or nothing."""

    def stat(self, key: str) -> ObjectInfo | None:
        """The object under `key`, or None: this is what "exists" means."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> Chunks:
        """`length` bytes (all, when None) from `start`, as chunks; MissingObject if there is
        none. The request is made before this returns, so errors surface here, not later."""

    def download(self, key: str, path: Path) -> None:
        """Write the object to `path` (complete, or not at all); MissingObject if none."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects whose keys start with `prefix` (a plain string prefix, as in S3)."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; how many there were."""

    def publish(self, prefix: str, folder: Path, last: str) -> bool:
        """Store every file of the local `folder` under `prefix/`, the file named `last`
        after all the others, so `prefix/last` existing means all of them exist (files under
        a dot-named folder are not stored). The folder is used up. False (and nothing
        changed) when `prefix/last` existed already."""

    def presign(self, key: str, expires: int, content_type: str | None = None,
                disposition: str | None = None, cache_control: str | None = None
                ) -> str | None:
        """A URL anyone may GET (with Range) for `expires` seconds; None if the store has
        no such thing (local disk)."""

    def local_path(self, key: str) -> Path | None:
        """Where `key` (an object, or a prefix's folder) is on this machine, when the store
        is this machine's disk; None for a remote store or a missing key."""


def read_bytes(store: MediaStore, key: str) -> bytes | None:
    """A small object's content, or None when there is none."""
    try:
        return b"".join(store.read(key))
    except MissingObject:
        return None


class Chunks:
    """Up to `length` bytes (all, when None) of an open binary stream, as chunks; closing it
    (or reading to the end) closes the stream, even if it was never iterated (a HEAD)."""

    def __init__(self, stream, length: int | None = None):
        self._stream = stream
        self._remaining = length

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self._remaining is None or self._remaining > 0:
                size = CHUNK if self._remaining is None else min(CHUNK, self._remaining)
                chunk = self._stream.read(size)
                if not chunk:
                    break
                if self._remaining is not None:
                    self._remaining -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._stream.close()
