"""Stored files that follow a transaction: a file stored for a row that is then rolled back
is deleted, and the files of rows a transaction removed are deleted once it commits.

Code that stores or removes media notes the keys in the SQLAlchemy session
(`stored(session, key)`, `removed(session, keys)`); the session's commit or rollback deletes
the right ones. Deleting is best effort: a file that cannot be deleted now (storage down) is
logged and left, harmless, with no row naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.storage import StorageError, get_store

log = logging.getLogger(__name__)

_STORED = "cutroom.media_stored"
_REMOVED = "cutroom.media_removed"


def stored(session: Session, key: str) -> None:
    """A file was stored (in a folder of its own) for a row of this transaction: delete it
    if the transaction ends without committing."""
    session.info.setdefault(_STORED, set()).add(key)


def removed(session: Session, keys: Iterable[str]) -> None:
    """These files' rows are deleted in this transaction: delete the files once it commits."""
    session.info.setdefault(_REMOVED, set()).update(keys)


def init_app() -> None:
    """Install the session hooks (once per process)."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)


def _committed(session: Session) -> None:
    session.info.pop(_STORED, None)
    _delete(session.info.pop(_REMOVED, ()))


def _rolled_back(session: Session) -> None:
    session.info.pop(_REMOVED, None)
    _delete(session.info.pop(_STORED, ()))


def _delete(keys: Iterable[str]) -> None:
    store = None
    for key in keys:
        try:
            store = store or get_store()
            store.delete_prefix(key.rpartition("/")[0] + "/")  # the file's own folder
        except (StorageError, RuntimeError) as exc:  # RuntimeError: no app context
            log.warning("Could not delete the media file %s: %s", key, exc)
