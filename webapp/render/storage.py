"""Stage outputs in the media store (webapp/storage/), keyed by a hash of their inputs.

Keys: projects/<project id>/<kind>/<input hash>/<file>, with a manifest.json that is stored
last: an output whose manifest exists is complete, and a re-render whose inputs did not
change finds it and reuses it. A half-stored output (a stage killed while uploading) has no
manifest, so it is never reused or served.

A stage builds on this machine's disk, in a scratch folder (webapp.jobs.scratch) under
MEDIA_ROOT named after the job that builds it, then publishes it: with local storage the
folder is renamed into place, with S3 its files are uploaded, the manifest last. A stage
that needs an earlier stage's files gets them as a local folder: the stored folder itself
on local storage, else hard links, inside its scratch folder, into this machine's bounded
cache (webapp.storage.cache).
The reconciler sweeps the scratch folders that work-horses killed mid-stage left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import current_app

from webapp.jobs import scratch
from webapp.storage import get_cache, get_store, is_key, read_bytes

MANIFEST = "manifest.json"


def media_root() -> Path:
    """This machine's media folder: scratch folders, and the outputs with local storage."""
    return Path(current_app.config["MEDIA_ROOT"]).resolve()


def project_prefix(project_id: int) -> str:
    return f"projects/{int(project_id)}/"


def project_dir(project_id: int) -> Path:
    """This machine's folder of a project (its outputs, with local storage)."""
    return media_root() / project_prefix(project_id)


def input_hash(inputs: Any) -> str:
    """A stable digest of JSON-able inputs."""
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def output_key(project_id: int, kind: str, digest: str) -> str:
    """The key prefix of one stage output (what a job's result calls its `output`)."""
    return f"{project_prefix(project_id)}{kind}/{digest}"


def digest_of(output: str) -> str:
    """The input hash an output key ends with."""
    return output.rsplit("/", 1)[-1]


def locate(project_id: int, kind: str, inputs: Any) -> tuple[str, dict[str, Any] | None]:
    """The output key for these inputs, and its manifest if it is already built."""
    output = output_key(project_id, kind, input_hash(inputs))
    return output, read_manifest(output)


def read_manifest(output: str) -> dict[str, Any] | None:
    """The output's manifest, or None when the output is missing or incomplete."""
    if not is_key(output):
        return None
    data = read_bytes(get_store(), f"{output}/{MANIFEST}")
    try:
        return json.loads(data) if data is not None else None
    except json.JSONDecodeError:
        return None


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def _scratch_folder(output: str, job_id: str | None) -> Path:
    parent = media_root() / output.rpartition("/")[0]
    parent.mkdir(parents=True, exist_ok=True)
    temp = parent / scratch.name(job_id, fallback=f"{digest_of(output)}-{os.getpid()}")
    temp.mkdir()
    return temp


@contextlib.contextmanager
def building(project_id: int, kind: str, digest: str, job_id: str | None = None
             ) -> Iterator[Path]:
    """A fresh scratch folder for a stage's output (named after `job_id`, the job that
    builds it), published to the store, manifest last, on success.

    On any exception (a timeout included) the scratch folder is removed; a work-horse
    killed mid-stage leaves it to the reconciler.
    """
    output = output_key(project_id, kind, digest)
    temp = _scratch_folder(output, job_id)
    try:
        yield temp
        if not (temp / MANIFEST).is_file():
            raise RuntimeError(f"{kind} output has no {MANIFEST}")
        # False when another render built the same thing meanwhile: it is as good.
        get_store().publish(output, temp, MANIFEST)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


@contextlib.contextmanager
def fetched(output: str, names: Iterable[str], into: Path) -> Iterator[Path]:
    """A local folder holding the named files of a stored output, for as long as the
    block runs: the output's own folder on local storage, else a folder inside `into` (the
    stage's scratch folder; its dot name keeps it out of what is published) of hard links
    into this machine's cache, which downloads only what it lacks."""
    store = get_store()
    folder = store.local_path(output)
    if folder is not None:
        yield folder
        return
    cache = get_cache()
    temp = into / f".inputs-{digest_of(output)}"
    temp.mkdir()
    try:
        for name in names:
            cache.link(store, f"{output}/{name}", temp / name)
        cache.evict()
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def delete_project_media(project_id: int) -> None:
    """Every stored object of the project, and this machine's copies of them."""
    prefix = project_prefix(project_id)
    get_store().delete_prefix(prefix)
    get_cache().delete_prefix(prefix)
    shutil.rmtree(project_dir(project_id), ignore_errors=True)  # scratch folders
