"""Stage outputs on disk, keyed by a hash of their inputs.

Layout: MEDIA_ROOT/projects/<project id>/<kind>/<input hash>/ with a manifest.json written
last. A stage builds into a temporary folder beside it and renames it into place, so a
folder with a manifest is always complete, and a re-render whose inputs did not change finds
it and reuses it. The temporary folder is a job's scratch folder (webapp.jobs.scratch),
named after the job that builds it: the reconciler sweeps those that work-horses killed
mid-stage left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import current_app

from webapp.jobs import scratch

MANIFEST = "manifest.json"


def media_root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"]).resolve()


def project_dir(project_id: int) -> Path:
    return media_root() / "projects" / str(int(project_id))


def input_hash(inputs: Any) -> str:
    """A stable digest of JSON-able inputs."""
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def output_dir(project_id: int, kind: str, digest: str) -> Path:
    return project_dir(project_id) / kind / digest


def locate(project_id: int, kind: str, inputs: Any) -> tuple[Path, dict[str, Any] | None]:
    """Where the output for these inputs lives, and its manifest if it is already built."""
    folder = output_dir(project_id, kind, input_hash(inputs))
    return folder, read_manifest(folder)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when the folder is missing or incomplete."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


@contextlib.contextmanager
def building(project_id: int, kind: str, digest: str, job_id: str | None = None
             ) -> Iterator[Path]:
    """A fresh scratch folder for a stage's output (named after `job_id`, the job that
    builds it), moved into place on success.

    On any exception (a timeout included) the scratch folder is removed; a work-horse
    killed mid-stage leaves it to the reconciler.
    """
    final = output_dir(project_id, kind, digest)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.parent / scratch.name(job_id, fallback=f"{digest}-{os.getpid()}")
    temp.mkdir()
    try:
        yield temp
        if read_manifest(temp) is None:
            raise RuntimeError(f"{kind} output has no {MANIFEST}")
        if final.exists():  # another render built the same thing meanwhile
            shutil.rmtree(temp)
        else:
            os.replace(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def relative(path: Path) -> str:
    """A path under the media root, as stored in job results."""
    return path.resolve().relative_to(media_root()).as_posix()


def resolve(stored: str) -> Path | None:
    """The absolute path of a stored relative path; None if it would leave the media root."""
    root = media_root()
    path = (root / stored).resolve()
    return path if path.is_relative_to(root) else None


def delete_project_media(project_id: int) -> None:
    shutil.rmtree(project_dir(project_id), ignore_errors=True)
