"""A real S3 store for the tests: an embedded SeaweedFS, started once per test process when
a test needs it, or for the whole session under MEDIA_STORAGE=s3 (`MEDIA_STORAGE=s3 make
test` runs every test against S3). With S3_ENDPOINT_URL set too, that store is used, under
its own prefix (`<S3_PREFIX>cutroom-test<N>/`, emptied first).
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp.config import media_settings
from webapp.devservices import start_seaweedfs
from webapp.storage.s3 import S3Store

STARTED: dict[str, float] = {}  # measured startup seconds, for the report


def session_s3_env(stack: list, base: Path, worker: int) -> dict[str, str]:
    """S3 settings for the whole session when MEDIA_STORAGE=s3, else {}."""
    if os.environ.get("MEDIA_STORAGE") != "s3":
        return {}
    if os.environ.get("S3_ENDPOINT_URL"):
        prefix = f"{os.environ.get('S3_PREFIX', '').strip('/')}/cutroom-test{worker}/"
        env = {"MEDIA_STORAGE": "s3", "S3_PREFIX": prefix.lstrip("/")}
    else:
        server = _start(base / "seaweedfs")
        stack.append(server)
        env = server.env()
    store_of(env).delete_prefix("")
    return env


def _start(data_dir: Path):
    started = time.monotonic()
    server = start_seaweedfs(data_dir, bucket="cutroom-test")
    server.grace = 0  # its data is thrown away
    STARTED["seaweedfs"] = time.monotonic() - started
    return server


@functools.cache
def _store(items: frozenset) -> S3Store:
    env = dict(items)
    config = media_settings({**os.environ, **env, "MEDIA_STORAGE": "s3"})
    return S3Store(config["S3_BUCKET"], prefix=config["S3_PREFIX"],
                   endpoint_url=config["S3_ENDPOINT_URL"], region=config["S3_REGION"],
                   access_key_id=config["S3_ACCESS_KEY_ID"],
                   secret_access_key=config["S3_SECRET_ACCESS_KEY"])


def store_of(env: dict[str, str]) -> S3Store:
    """An S3Store for S3 settings given as environment variables (one per settings)."""
    return _store(frozenset(env.items()))


@pytest.fixture(scope="session")
def s3_env(request) -> Iterator[dict[str, str]]:
    """Environment variables for a real S3 store: the session's own under MEDIA_STORAGE=s3,
    else an embedded SeaweedFS started now (once per test process)."""
    if os.environ.get("MEDIA_STORAGE") == "s3":
        yield request.getfixturevalue("services")["s3"]
        return
    server = _start(Path(tempfile.mkdtemp(prefix="cutroom-s3-")) / "seaweedfs")
    try:
        yield server.env()
    finally:
        server.stop()
