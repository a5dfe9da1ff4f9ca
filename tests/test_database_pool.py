"""The web and worker processes' PostgreSQL pool (webapp/database.py): a connection that sat
idle in the pool is pinged before use, and replaced unseen if it died there; one reused at
once is not pinged (that round trip on every request was a tenth of a submit's CPU). Real
PostgreSQL: what each backend ran last is read from pg_stat_activity."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from webapp import database

PING = ";"  # the psycopg dialect's ping: an empty statement


@pytest.fixture
def engine(app, monkeypatch):
    """A pool as the app makes it, of its own (one connection), with a short idle limit."""
    monkeypatch.setattr(database, "IDLE_CHECK", 0.3, raising=False)
    options = database.engine_options(connect_timeout=2, statement_timeout=5, pool_size=1,
                                      pool_timeout=2, max_overflow=0)
    made = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **options)
    database.init_app(app, made)
    yield made
    made.dispose()


@pytest.fixture
def observer(app):
    """Another connection, to watch the pool's backends from."""
    made = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with made.connect() as connection:
        yield connection
    made.dispose()


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _last_query(observer, pid: int) -> str:
    """What the backend ran last (psycopg pings with an empty statement)."""
    found = observer.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :pid"),
                             {"pid": pid}).scalar()
    observer.rollback()
    return found


def test_a_connection_reused_at_once_is_not_pinged(engine, observer):
    pid = _backend(engine)
    with engine.connect() as connection:  # the same pooled connection, straight away
        assert connection.connection.dbapi_connection.info.backend_pid == pid  # no query
        assert _last_query(observer, pid) != PING


def test_a_connection_idle_in_the_pool_is_pinged_before_use(engine, observer):
    pid = _backend(engine)
    time.sleep(0.4)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.info.backend_pid == pid
        assert _last_query(observer, pid) == PING


def test_a_connection_killed_while_idle_is_replaced_unseen(engine, observer):
    pid = _backend(engine)
    assert observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    observer.rollback()
    time.sleep(0.4)
    with engine.connect() as connection:  # no error: the ping found it dead, a new one came
        replacement = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    assert replacement != pid
