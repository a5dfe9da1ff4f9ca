"""Scratch folders: where a job builds its output before moving it into place.

A scratch folder is named after the job that builds it (`.tmp-job-<job id>-<random>`), so
that the reconciler can remove the ones a killed or stopped work-horse left behind, wherever
they are under MEDIA_ROOT, and never one a live job is still writing. Scratch folders that
name no job go once they are STALE_AFTER old.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

PREFIX = ".tmp-"
STALE_AFTER = 6 * 3600
MAX_DEPTH = 4  # MEDIA_ROOT/projects/<project>/<kind>/<scratch folder>
_NAMED = re.compile(rf"{re.escape(PREFIX)}job-([0-9a-f-]{{36}})-")


def name(job_id: str | None, fallback: str) -> str:
    """A fresh scratch folder name for `job_id` (or, outside a job, for `fallback`)."""
    owner = f"job-{job_id}" if job_id else fallback
    return f"{PREFIX}{owner}-{secrets.token_hex(4)}"


def builder(folder_name: str) -> str | None:
    """The id of the job a scratch folder belongs to, or None if it names none."""
    match = _NAMED.match(folder_name)
    try:
        return str(uuid.UUID(match.group(1))) if match else None
    except ValueError:
        return None


def find(root: Path, depth: int = MAX_DEPTH) -> Iterator[Path]:
    """Scratch folders under `root`, at most `depth` levels down (not inside one another)."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(root) as it:
        for entry in it:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(PREFIX):
                yield Path(entry.path)
            elif depth > 1:
                yield from find(Path(entry.path), depth - 1)


def leftovers(root: Path, active: Callable[[set[str]], set[str]]
              ) -> list[tuple[Path, str | None]]:
    """Scratch folders under `root` that no live job writes, with their job's id: their job
    is not active (`active` says which of the ids given are), or they name none and are stale.
    """
    folders = {path: builder(path.name) for path in find(root)}
    ids = {job_id for job_id in folders.values() if job_id}
    live = active(ids) if ids else set()
    return [(path, job_id) for path, job_id in folders.items()
            if (job_id not in live if job_id else is_stale(path))]


def is_stale(folder: Path) -> bool:
    """Untouched for STALE_AFTER seconds (or already gone)."""
    try:
        return folder.stat().st_mtime < time.time() - STALE_AFTER
    except FileNotFoundError:
        return True


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
