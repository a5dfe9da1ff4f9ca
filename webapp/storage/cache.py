"""A bounded cache, on this machine's disk, of objects from a remote store.

A stage running on another machine than the one that built its inputs downloads them here
once. Entries are keyed by their object key, which names an immutable stage output (it
carries the hash of the output's inputs), so an entry never goes stale. The cache holds at
most `max_bytes`; past that the least recently used entries go first (use is recorded as
the file's mtime). A stage gets hard links to the entries, not the entries themselves, so
another process evicting an entry never takes a file from under a running ffmpeg.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from webapp.storage.base import MediaStore, check_key

PARTIAL_STALE_AFTER = 3600  # partial downloads of a killed process are removed after this


class MediaCache:
    """Remote objects cached in `root`, at most `max_bytes` of them."""

    def __init__(self, root: Path | str, max_bytes: int):
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def link(self, store: MediaStore, key: str, dest: Path) -> None:
        """Make `dest` the object's content: a hard link to the cached copy (downloaded
        first if need be), or a copy where hard links cannot be made."""
        for attempt in range(3):
            entry = self._entry(store, key)
            try:
                _link_or_copy(entry, dest)
                return
            except FileNotFoundError:  # evicted by another process in between
                if attempt == 2:
                    raise

    def _entry(self, store: MediaStore, key: str) -> Path:
        entry = self.path(key)
        with contextlib.suppress(FileNotFoundError):
            os.utime(entry)  # used now: the last to be evicted
            return entry
        entry.parent.mkdir(parents=True, exist_ok=True)
        store.download(key, entry)
        return entry

    def entries(self) -> list[tuple[Path, int, float]]:
        """(path, size, last use) of every entry, least recently used first; removes stale
        partial downloads on the way."""
        found = []
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                with contextlib.suppress(FileNotFoundError):
                    info = path.stat()
                    if not name.startswith("."):
                        found.append((path, info.st_size, info.st_mtime))
                    elif info.st_mtime < time.time() - PARTIAL_STALE_AFTER:
                        path.unlink()
        return sorted(found, key=lambda entry: entry[2])

    def evict(self) -> int:
        """Remove least recently used entries until the cache fits; the bytes freed."""
        entries = self.entries()
        excess = sum(size for _, size, _ in entries) - self.max_bytes
        freed = 0
        for path, size, _ in entries:
            if freed >= excess:
                break
            path.unlink(missing_ok=True)
            freed += size
        return freed

    def delete_prefix(self, prefix: str) -> None:
        """Forget every entry under `prefix` (a folder: `projects/7/`)."""
        check_key(prefix, prefix=True)
        shutil.rmtree(self.root / prefix, ignore_errors=True)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, dest)
