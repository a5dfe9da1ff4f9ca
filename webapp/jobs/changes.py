"""Change tokens: what live pages compare to learn, from Redis alone, that nothing changed.

Every commit that changes a job a page shows (status, progress, stage, result, a new or a
deleted row) gives its owner's token a new random value, and the token of everyone's jobs
(admins see all) too, after the commit (webapp/aftercommit.py). Changes that are no one
user's (a queue paused or resumed, a write whose owners are unknown) renew the epoch token,
which every page compares too. A page remembers the tokens as they were before it read its
rows; while they are the same, nothing it shows has changed.

Tokens are random, not counters: a Redis that restarted, or evicted one, never hands back a
value a page already holds. A missing token is made afresh (and the page reads PostgreSQL
once); each expires after TOKEN_TTL without a change, so even a change whose token Redis
never heard of (it was away for longer than this process kept it) shows within that time.

How writes are seen, whoever makes them:
- transitions.py's moves return the owner (`note_owners`), and say so to the hook below;
  batched.py's statements (the same moves for many jobs, as text the hook does not look
  at) return and note their owners too;
- ORM inserts, updates and deletes of jobs (a submit, a delete), of projects and users
  (whose jobs go with them), and queue pauses are seen at flush;
- any other UPDATE or DELETE of background_jobs is looked at before it runs: its owners are
  read with the same WHERE clause, so a new write path cannot forget to tell pages.
"""

from __future__ import annotations

import os

from redis import Redis
from redis.client import Pipeline
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from webapp import aftercommit
from webapp.models import BackgroundJob, Project, QueuePause, User

KIND = "job_owners"
EVERYONE = "*"  # noted instead of an owner: every page's epoch changes
OWNERS_NOTED = "cutroom_owners_noted"  # execution option of a statement that noted its owners
TOKEN_TTL = 15 * 60
PREFIX = "cutroom:live:"
ALL_KEY, EPOCH_KEY = PREFIX + "all", PREFIX + "epoch"

_jobs = BackgroundJob.__table__


def user_key(user_id: int) -> str:
    return f"{PREFIX}u:{user_id}"


def note_owners(session: Session, owners) -> None:
    """These users' jobs changed in this transaction (EVERYONE: changes no one user owns)."""
    aftercommit.note(session, KIND, owners)


@aftercommit.sender(KIND)
def _renew(pipe: Pipeline, owners: set) -> None:
    token = os.urandom(6).hex()
    for owner in owners:
        pipe.set(EPOCH_KEY if owner == EVERYONE else user_key(owner), token, ex=TOKEN_TTL)
    pipe.set(ALL_KEY, token, ex=TOKEN_TTL)


def keys_for(user_id: int) -> tuple[str, str, str]:
    """The tokens a page of this user's compares: its own, the epoch, everyone's."""
    return user_key(user_id), EPOCH_KEY, ALL_KEY


def validator(values, admin: bool) -> str | None:
    """The page's validator from the tokens of keys_for (None: one is missing). Admins see
    everyone's jobs: everyone's token; anyone else, their own and the epoch."""
    own, epoch, everyone = (v.decode() if isinstance(v, bytes) else v for v in values)
    if admin:
        return everyone or None
    return f"{own}.{epoch}" if own and epoch else None


def queue_tokens(pipe: Pipeline, user_id: int) -> None:
    """Queue making any missing token of keys_for(user_id), then reading them: the
    pipeline's last result is their values."""
    token = os.urandom(6).hex()
    keys = keys_for(user_id)
    for key in keys:
        pipe.set(key, token, ex=TOKEN_TTL, nx=True)
    pipe.mget(keys)


def current_validator(redis: Redis, user_id: int, admin: bool) -> str:
    """The validator now, making any missing token; one round trip. Read it before the rows
    the page shows: a change committed in between is then seen by the next poll."""
    pipe = redis.pipeline(transaction=False)
    queue_tokens(pipe, user_id)
    return validator(pipe.execute()[-1], admin) or ""


def init_app() -> None:
    """See every write of jobs, whichever way it is made (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _before_execute)


def _after_flush(session: Session, _context) -> None:
    owners = {_owner_of(obj, session) for obj in (*session.new, *session.dirty,
                                                   *session.deleted)}
    owners.discard(None)
    if owners:
        note_owners(session, owners)


def _owner_of(obj, session: Session):
    """Whose jobs a flushed object's change touches (None: nobody's); never loads a row."""
    loaded = inspect(obj).dict
    if isinstance(obj, BackgroundJob | Project):
        return loaded.get("user_id", EVERYONE)
    if isinstance(obj, User) and obj in session.deleted:
        return loaded.get("id", EVERYONE)
    if isinstance(obj, QueuePause):
        return EVERYONE
    return None


def _before_execute(state: ORMExecuteState) -> None:
    """A write of jobs that did not note its owners: an UPDATE's or DELETE's are read
    first, with its WHERE clause; an INSERT's are unknown, so every page is told."""
    if not (state.is_insert or state.is_update or state.is_delete) or \
            state.execution_options.get(OWNERS_NOTED):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != _jobs.name:
        return
    if state.is_insert:
        note_owners(state.session, {EVERYONE})
        return
    where = state.statement.whereclause
    query = select(_jobs.c.user_id).distinct()
    if where is not None:
        query = query.where(where)
    note_owners(state.session, state.session.scalars(query).all())
