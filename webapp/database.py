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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from flask import Flask
from psycopg import errors
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Seconds the client waits beyond the server's statement_timeout before giving up on a
# round trip: the server's own cancellation should normally come first.
CLIENT_MARGIN = 2.0



class DatabaseUnresponsive(psycopg.OperationalError):
    """PostgreSQL did not answer a round trip within the deadline."""


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait on the server has a deadline (None: none)."""

    deadline: float | None = None

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
                   pool_timeout: float) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS for these limits (0 turns a timeout off)."""
    connect_args: dict[str, Any] = {
        "connect_timeout": max(2, round(connect_timeout)) if connect_timeout else 0,
        # Dead peers on a silent network are noticed by the kernel too, for any process.
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    return {
        "pool_pre_ping": True,
        "pool_size": pool_size,
        "pool_timeout": pool_timeout,
        "connect_args": connect_args,
    }


def init_app(app: Flask, engine: Engine, deadline: float | None = None) -> None:
    """Make the engine open DeadlineConnections; the client deadline follows the statement
    timeout unless `deadline` says otherwise."""
    statement_timeout = app.config["DATABASE_STATEMENT_TIMEOUT"]
    client_deadline = deadline or (statement_timeout + CLIENT_MARGIN if statement_timeout
                                   else None)

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.deadline = client_deadline
        return connection


@contextlib.contextmanager
def without_timeouts(connection: Any) -> Iterator[None]:
    """Lift both limits on one SQLAlchemy connection while inside (migrations: index builds
    on big tables take as long as they take)."""
    raw = connection.connection.dbapi_connection
    saved, raw.deadline = raw.deadline, None
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()  # a session setting, outside the migration's own transaction
    try:
        yield
    finally:
        raw.deadline = saved
        connection.exec_driver_sql("RESET statement_timeout")
        connection.commit()
