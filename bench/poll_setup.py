"""The data of bench/poll.py: users with live jobs, signed in, and their home pages' state."""

from __future__ import annotations

from poll_client import USER_AGENT, Dashboard
from sqlalchemy import select, text
from werkzeug.security import generate_password_hash

USERS = """
INSERT INTO users (email, password_hash, is_admin)
SELECT 'bench' || g || '@poll.example', :hash, false FROM generate_series(1, :n) AS g
RETURNING id
"""
JOBS = """
INSERT INTO background_jobs (id, task, queue, status, params, user_id, progress, stage,
                             attempt, worker_name, created_at, enqueued_at, started_at,
                             heartbeat_at, updated_at)
SELECT gen_random_uuid(), 'countdown', 'default', 'started', '{"steps": 100}', u, 0,
       'Step 1 of 100', 1, 'bench-worker', now() - make_interval(secs => c), now(), now(),
       now(), now()
FROM unnest(CAST(:users AS integer[])) AS u, generate_series(1, :cards) AS c
"""


def fill(db, dashboards: int, cards: int) -> list[int]:
    """`dashboards` users with `cards` started jobs each; their ids."""
    users = list(db.session.scalars(text(USERS), {
        "hash": generate_password_hash("bench-password-1"), "n": dashboards}))
    db.session.execute(text(JOBS), {"users": users, "cards": cards})
    db.session.commit()
    return users


def _cookie(app, user) -> str:
    """Sign `user` in as the sign-in form does (a server-side session, Flask-Login's keys
    for this client's address and agent); the session cookie's value."""
    from flask import session

    from webapp.auth.login import begin_session

    environ = {"REMOTE_ADDR": "127.0.0.1"}
    with app.test_request_context("/login", environ_base=environ,
                                  headers={"User-Agent": USER_AGENT}):
        begin_session(user)
        return app.session_interface.get_signing_serializer(app).dumps(dict(session))


def dashboards_for(app, user_ids: list[int]) -> list[Dashboard]:
    """Each user's home page as it renders now: the poller's validator, the live cards."""
    from webapp.extensions import db
    from webapp.jobs import changes
    from webapp.jobs.connection import get_quick_redis
    from webapp.live.regions import job_tag
    from webapp.models import BackgroundJob, User

    boards = []
    for user in db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)):
        cookie = _cookie(app, user)
        validator = changes.current_validator(get_quick_redis(), user.id, False)
        jobs = list(db.session.scalars(select(BackgroundJob)
                                       .where(BackgroundJob.user_id == user.id)))
        cards = {job.id.hex: job_tag(job) for job in jobs}
        boards.append(Dashboard(cookie, f"/live?v={validator}", cards,
                                [str(job.id) for job in jobs]))
    db.session.commit()
    return boards
