"""PostgreSQL connections that cannot hang: bounded connects, statements and round trips.

Three limits, all from configuration:
- `connect_timeout` bounds opening a connection (psycopg enforces it, 2 s at least);
- `statement_timeout` makes the server cancel a statement that runs too long (a lock wait,
  a runaway query), leaving the connection usable;
- a client-side deadline on every round trip (`DeadlineConnection`) covers what the server
  cannot: a server that stopped answering, or a network that swallows packets. The socket
  is still open, so without it a request would wait for TCP to give up, minutes later, and
  a handful of such requests would hold every web thread. Past the deadline the connection
  is closed and the pool discards it; the request gets an OperationalError (a 503 to people).

A pooled connection is pinged (psycopg sends an empty statement) before use only when it
sat idle in the pool for IDLE_CHECK seconds or more: that is when a restart or a network
cut could have killed it unseen. One reused within a moment of its last request is not
pinged (`pool_pre_ping` cost a round trip on every request: about 3 % of a submit's CPU,
and a third of a changed live poll's time in bench/poll.py's setup). If PostgreSQL went
away in that moment, the request meets the dead connection and gets a 503, and SQLAlchemy
discards every connection the pool had (its disconnect handling).

Behind a pooler in transaction mode (DATABASE_POOL=external, PgBouncer), consecutive
transactions of one client may run on different server connections, so nothing may rely on
session state: there is no client-side pool (NullPool), psycopg prepares no statements on
the server, and the statement timeout is set at the start of every transaction
(`SET LOCAL`) instead of in the startup packet, which PgBouncer refuses.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from flask import Flask
from psycopg import errors
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# Seconds the client waits beyond the server's statement_timeout before giving up on a
# round trip: the server's own cancellation should normally come first.
CLIENT_MARGIN = 2.0
POOLS = ("internal", "external")  # DATABASE_POOL: a pool in each process, or a pooler's
IDLE_CHECK = 1.0  # seconds in the pool after which a connection is pinged before use
_IDLE_SINCE = "cutroom_idle_since"  # in a pool record's info: when it was last checked in


class DatabaseUnresponsive(psycopg.OperationalError):
    """PostgreSQL did not answer a round trip within the deadline."""


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait on the server has a deadline (None: none)."""

    deadline: float | None = None
    # External pooling: settings are made per transaction, never on the session.
    per_transaction = False
    # Milliseconds of SET LOCAL statement_timeout as each transaction begins (None: none).
    transaction_timeout: int | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is None and self.deadline:
            timeout = self.deadline
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except errors._WaitTimeout:
            # Mid-protocol: the connection cannot be used again. Closing it marks it broken,
            # so SQLAlchemy invalidates it instead of returning it to the pool.
            self.pgconn.finish()
            raise DatabaseUnresponsive(
                f"PostgreSQL did not answer within {timeout:g} s") from None


def engine_options(connect_timeout: float, statement_timeout: float, pool_size: int,
                   pool_timeout: float, pool: str = "internal", max_overflow: int = 10
                   ) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS for these limits (0 turns a timeout off); with `pool`
    "external" a pooler in transaction mode sits between the app and PostgreSQL."""
    connect_args: dict[str, Any] = {
        "connect_timeout": max(2, round(connect_timeout)) if connect_timeout else 0,
        # Dead peers on a silent network are noticed by the kernel too, for any process.
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if pool == "external":
        # A prepared statement lives on one server connection; the next transaction may
        # run on another. The timeout is applied per transaction (init_app).
        connect_args["prepare_threshold"] = None
        return {"poolclass": NullPool, "connect_args": connect_args}
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    return {
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout,
        "connect_args": connect_args,
    }


def init_app(app: Flask, engine: Engine, deadline: float | None = None,
             statement_timeout: float | None = None) -> None:
    """Make the engine open DeadlineConnections; the client deadline follows the statement
    timeout (DATABASE_STATEMENT_TIMEOUT unless given) unless `deadline` says otherwise.
    With external pooling the statement timeout is set as each transaction begins."""
    if statement_timeout is None:
        statement_timeout = app.config["DATABASE_STATEMENT_TIMEOUT"]
    client_deadline = deadline or (statement_timeout + CLIENT_MARGIN if statement_timeout
                                   else None)
    per_transaction = app.config["DATABASE_POOL"] == "external"

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.deadline = client_deadline
        if per_transaction:
            connection.per_transaction = True
            connection.transaction_timeout = int(statement_timeout * 1000) or None
        return connection

    if per_transaction:
        event.listen(engine, "begin", _set_transaction_timeout)
    else:
        check_idle_connections(engine)


def check_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection at checkout if it sat in the pool IDLE_CHECK seconds or
    more; a dead one is replaced by a new connection (DisconnectionError: SQLAlchemy
    invalidates it and checks out again)."""

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()  # just opened: alive

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < IDLE_CHECK:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"a pooled connection was dead: {error}") from error


def _set_transaction_timeout(connection: Connection) -> None:
    """SET LOCAL statement_timeout as a transaction begins: in transaction pooling a
    session setting would stay on a server connection that other clients use next."""
    raw = connection.connection.dbapi_connection
    timeout = getattr(raw, "transaction_timeout", None)
    if timeout is not None:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout)}")


@contextlib.contextmanager
def without_timeouts(connection: Any) -> Iterator[None]:
    """Lift both limits on one SQLAlchemy connection while inside (migrations: index builds
    on big tables take as long as they take)."""
    raw = connection.connection.dbapi_connection
    saved, raw.deadline = raw.deadline, None
    if raw.per_transaction:
        # External pooling: no session settings; the transactions begun inside get 0 (which
        # also lifts a statement_timeout set on the role).
        saved_local, raw.transaction_timeout = raw.transaction_timeout, 0
        if connection.in_transaction():
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        try:
            yield
        finally:
            raw.deadline, raw.transaction_timeout = saved, saved_local
        return
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()  # a session setting, outside the migration's own transaction
    try:
        yield
    finally:
        raw.deadline = saved
        connection.exec_driver_sql("RESET statement_timeout")
        connection.commit()
