"""Media storage behind one small interface (base.py), with two backends: `local` (a folder
on this machine, local.py) and `s3` (any S3-compatible store, s3.py), chosen by
MEDIA_STORAGE; and, for a remote store, a bounded cache on this machine (cache.py).

`get_store()` and `get_cache()` give the current app's, made once per process and settings.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from webapp.storage.base import (
    MediaStore,
    MissingObject,
    ObjectInfo,
    StorageError,
    check_key,
    is_key,
    read_bytes,
)
from webapp.storage.cache import MediaCache

__all__ = ["MediaCache", "MediaStore", "MissingObject", "ObjectInfo", "StorageError",
           "check_key", "get_cache", "get_store", "init_app", "is_key", "read_bytes"]

log = logging.getLogger(__name__)

EXTENSION = "cutroom.media"
SETTINGS = ("MEDIA_STORAGE", "MEDIA_ROOT", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL",
            "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "MEDIA_CACHE_DIR",
            "MEDIA_CACHE_BYTES")
MESSAGE = ("Cutroom cannot reach its media storage right now. Nothing was lost; try again "
           "in a few seconds.")


def init_app(app: Flask) -> None:
    """Make the store now (an S3 client loads its service model before workers fork), and
    answer a storage outage with 503 everywhere."""
    app.extensions[EXTENSION] = {}
    with app.app_context():
        get_store()
    app.register_error_handler(StorageError, _storage_down)


def _storage_down(exc: StorageError):
    from webapp.outages import unavailable

    log.warning("Media storage failed: %s", str(exc).splitlines()[0][:300])
    return unavailable("storage_unavailable", MESSAGE)


def _made() -> tuple[MediaStore, MediaCache]:
    config = current_app.config
    settings = tuple(config.get(name) for name in SETTINGS)
    made = current_app.extensions.setdefault(EXTENSION, {})
    if settings not in made:  # once in production; tests switch between a few
        made[settings] = (_store(config), MediaCache(config["MEDIA_CACHE_DIR"],
                                                     config["MEDIA_CACHE_BYTES"]))
    return made[settings]


def _store(config) -> MediaStore:
    if config["MEDIA_STORAGE"] == "s3":
        from webapp.storage.s3 import S3Store

        return S3Store(config["S3_BUCKET"], prefix=config["S3_PREFIX"],
                       endpoint_url=config["S3_ENDPOINT_URL"], region=config["S3_REGION"],
                       access_key_id=config["S3_ACCESS_KEY_ID"],
                       secret_access_key=config["S3_SECRET_ACCESS_KEY"])
    from webapp.storage.local import LocalStore

    return LocalStore(config["MEDIA_ROOT"])


def get_store() -> MediaStore:
    """The media store of the current app."""
    return _made()[0]


def get_cache() -> MediaCache:
    """This machine's cache of the current app's remote media."""
    return _made()[1]
