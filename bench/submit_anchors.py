"""The anchors of bench/submit.py: the least a submit endpoint can do, in plain Flask.

  bare    parse the JSON body, enqueue it in RQ, answer 202 (no database at all)
  outbox  parse, INSERT a `created` row and COMMIT, enqueue in RQ, UPDATE it to `queued`
          (and commit): the outbox order of ARCHITECTURE.md with nothing else around it

Served by gunicorn with the same settings as the app (webapp/gunicorn_conf.py), e.g.
`gunicorn 'submit_anchors:bare()' --config python:webapp.gunicorn_conf` from bench/.
They read DATABASE_URL and REDIS_URL; the outbox uses its own table (bench_outbox).
"""

from __future__ import annotations

import os
import uuid

from bare_task import echo
from flask import Flask, jsonify, request
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, text

QUEUE = "bench-anchor"
TABLE = """CREATE TABLE IF NOT EXISTS bench_outbox (
    id uuid PRIMARY KEY, status text NOT NULL, params jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), enqueued_at timestamptz)"""


def _queue() -> Queue:
    return Queue(QUEUE, connection=Redis.from_url(os.environ["REDIS_URL"]))


def bare() -> Flask:
    """POST /submit: enqueue the body in RQ."""
    app = Flask("bench_bare")
    queue = _queue()

    @app.post("/submit")
    def submit():
        job = queue.enqueue(echo, request.get_json(), job_id=str(uuid.uuid4()))
        return jsonify({"id": job.id, "status": "queued"}), 202

    return app


def engine():
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, pool_size=8, max_overflow=4)


def create_table() -> None:
    """The outbox anchor's table, emptied."""
    with engine().begin() as connection:
        connection.execute(text(TABLE))
        connection.execute(text("TRUNCATE bench_outbox"))


def outbox() -> Flask:
    """POST /submit: insert `created`, commit, enqueue, update to `queued`."""
    app = Flask("bench_outbox")
    queue, database = _queue(), engine()

    @app.post("/submit")
    def submit():
        params, job_id = request.get_json(), uuid.uuid4()
        with database.begin() as connection:
            connection.execute(text("INSERT INTO bench_outbox (id, status, params) VALUES "
                                    "(:id, 'created', CAST(:params AS jsonb))"),
                               {"id": job_id, "params": jsonify(params).get_data(True)})
        queue.enqueue(echo, params, job_id=str(job_id))
        with database.begin() as connection:
            connection.execute(text("UPDATE bench_outbox SET status = 'queued', enqueued_at = "
                                    "now() WHERE id = :id AND status = 'created'"),
                               {"id": job_id})
        return jsonify({"id": str(job_id), "status": "queued"}), 202

    return app
