"""Helpers shared by the tests: real worker processes, waiting, accounts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from rq import Worker

from webapp.auth.services import create_token, create_user
from webapp.extensions import db
from webapp.models import BackgroundJob, User

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1,
              message: str = "condition") -> Any:
    """Poll until predicate() is truthy; return its value or fail with `message`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def make_user(email: str | None = None, admin: bool = False, **limits: Any) -> User:
    """A committed account with the shared test password; `limits` are its own limits
    (e.g. max_running_jobs=50, so that every job it submits goes straight to RQ)."""
    user = create_user(email or f"{uuid.uuid4().hex[:10]}@example.com", PASSWORD, is_admin=admin)
    for name, value in limits.items():
        setattr(user, name, value)
    db.session.commit()
    return user


def make_token(user: User, name: str = "test") -> str:
    _, secret = create_token(user, name)
    db.session.commit()
    return secret


def login(client, user: User) -> None:
    """Sign the test client in as `user`."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def job_row(job_id: uuid.UUID | str) -> BackgroundJob:
    """A fresh read of the job's row."""
    db.session.expire_all()
    row = db.session.get(BackgroundJob, uuid.UUID(str(job_id)))
    assert row is not None
    return row


class WorkerProcess:
    """A real `flask jobs worker` process against the test database and Redis."""

    def __init__(self, env: dict[str, str], name: str | None = None, burst: bool = False,
                 queues: tuple[str, ...] = (), light: bool = False):
        self.name = name or f"test-{uuid.uuid4().hex[:8]}"
        args = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker",
                "--name", self.name]
        if burst:
            args.append("--burst")
        if light:
            args.append("--light")
        for queue in queues:  # none: every task queue
            args += ["-q", queue]
        self.log_path = Path(env.get("CUTROOM_TEST_LOG_DIR", "/tmp")) / f"{self.name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        # Its own session: a worker that signals its own process group (RQ's kill_horse
        # with no horse did) must not take the test runner down with it.
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, redis: Redis, timeout: float = 30) -> WorkerProcess:
        wait_for(lambda: self.process.poll() is not None
                 or any(w.name == self.name for w in Worker.all(connection=redis)),
                 timeout=timeout, message=f"worker {self.name} to register")
        if self.process.poll() is not None:
            raise AssertionError(f"Worker exited early:\n{self.log()}")
        return self

    def horse_pids(self) -> list[int]:
        """Work-horse processes: the worker's children that lead their own process group
        (RQ's horse calls setpgrp; the scheduler process does not)."""
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            try:
                if os.getpgid(child.pid) == child.pid:
                    pids.append(child.pid)
            except ProcessLookupError:
                continue
        return pids

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for child processes: the test session's services and fast settings."""
    env = dict(os.environ)
    env.update({"TRIGGER_TEST_DELAY": "0", "PROGRESS_INTERVAL": "0.2", "LOG_LEVEL": "INFO"})
    env.update(overrides)
    return env


def make_job(user: User, task: str = "countdown", status: str = "queued", **fields: Any
             ) -> BackgroundJob:
    """A committed job row in any state, without touching Redis."""
    job = BackgroundJob(task=task, queue="default", params=fields.pop("params", {"steps": 1}),
                        user_id=user.id, status=status, **fields)
    db.session.add(job)
    db.session.commit()
    return job


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page gives this client's session (as a browser would read it)."""
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def secure_login(client, user: User) -> str:
    """Sign in through the real form, CSRF token included; returns the session's token."""
    token = csrf_token(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_token(client, "/")


def close_app(app) -> None:
    """Release an app's database pool, Redis client and readiness probes (tests make
    several apps)."""
    from webapp.health import PROBES
    from webapp.jobs.connection import get_redis

    with app.app_context():
        db.engine.dispose()
        get_redis().close()
        if (quick := app.extensions.pop("cutroom.redis_quick", None)) is not None:
            quick.close()
    probes = app.extensions.pop(PROBES, None)
    if probes is not None:
        probes.close()
