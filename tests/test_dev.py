"""`make dev` as people use it: the README's commands against it, and Ctrl+C with a job running.

`python -m webapp.dev` (what `make dev` runs) runs in a folder laid out like a checkout
(`.venv`, `wsgi.py`, and `instance/` for its data), on a free port, in a session of its own:
a SIGINT to that session's process group is what a terminal sends on Ctrl+C. The README's
commands run there as written, in a shell that starts with none of Cutroom's settings.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.support import ROOT, wait_for
from webapp.dev import WORKER_STOP_MARGIN
from webapp.devservices import Postgres, start_postgres, start_redis

MARKER = "<!-- checked: tests/test_dev.py runs this block against a running make dev -->"
FINAL = ("finished", "failed", "stopped", "canceled")
# What a new shell has: no DATABASE_URL, REDIS_URL, CUTROOM_ENV or MEDIA_* from the tests.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "TERM")

pytestmark = pytest.mark.timeout(300)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _new_shell_env(**extra: str) -> dict[str, str]:
    """A fresh shell's environment; PYTHONPATH stands in for the checkout's editable install."""
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


class Dev:
    """`python -m webapp.dev` in `checkout`, started and stopped as from a terminal."""

    def __init__(self, checkout: Path):
        self.checkout = checkout
        self.instance = checkout / "instance"
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.log_path = self.checkout / f"dev-{self.runs}.log"
        env = _new_shell_env(BIND=self.url.removeprefix("http://"),
                             CUTROOM_INSTANCE_DIR=str(self.instance))
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "webapp.dev"],
                                            cwd=self.checkout, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: self.process.poll() is not None or self._healthy(), timeout=120,
                 interval=0.3, message="make dev to serve /healthz")
        assert self.process.poll() is None, self.output()
        # The worker listens once it says so (web may answer before).
        wait_for(lambda: "*** Listening on" in self.output(), timeout=60,
                 message="the worker to listen")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def interrupt(self) -> tuple[int, float]:
        """Ctrl+C: SIGINT to the foreground process group. (exit status, seconds to exit)"""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        returncode = self.process.wait(timeout=60)
        return returncode, time.monotonic() - started

    def close(self) -> None:
        """Stop it, or if it will not stop, what it leaves behind."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                self.process.kill()  # its processes get SIGTERM from Linux; not its services
                self.process.wait()
        Postgres(data_dir=self.instance / "postgres", admin_url="").stop()
        for sock in self.instance.glob("redis/*.sock"):
            with contextlib.suppress(RedisError):
                Redis(unix_socket_path=str(sock), socket_timeout=5).shutdown(nosave=True)

    def token(self) -> str:
        """An admin token, through `make shell CMD=...`'s command."""
        result = subprocess.run(
            [sys.executable, "-m", "webapp.dev", "shell", "flask", "--app", "wsgi", "tokens",
             "create", "admin@example.com"],
            cwd=ROOT, env=_new_shell_env(CUTROOM_INSTANCE_DIR=str(self.instance)),
            capture_output=True, text=True, timeout=60, start_new_session=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def dev() -> Iterator[Dev]:
    checkout = Path(tempfile.mkdtemp(prefix="cutroom-dev-"))
    (checkout / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (checkout / "wsgi.py").symlink_to(ROOT / "wsgi.py")
    instance = Dev(checkout)
    try:
        instance.start()
        yield instance
    finally:
        instance.close()
        shutil.rmtree(checkout, ignore_errors=True)


# The README's commands ---------------------------------------------------------------------

def readme_blocks() -> list[list[str]]:
    """The commands of each fenced block the README marks as checked here; a command's
    continuation lines (ending in a backslash) stay with it."""
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        indent = len(line) - len(line.lstrip())
        assert lines[number + 1].strip() == "```sh", f"README line {number + 2}: not a sh block"
        body = []
        for text in lines[number + 2:]:
            if text.strip() == "```":
                break
            body.append(text[indent:])
        blocks.append(_commands(body))
    return blocks


def _commands(body: list[str]) -> list[str]:
    commands, current = [], []
    for line in body:
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        if not line.rstrip().endswith("\\"):
            commands.append("\n".join(current))
            current = []
    return commands


def documented_statuses(command: str) -> set[int]:
    """The HTTP statuses a command's comment names (200 when it names none)."""
    comment = re.search(r"\s#\s(.*)$", command.splitlines()[-1])
    found = re.findall(r"\b([1-5]\d\d)\b", comment.group(1)) if comment else []
    return {int(status) for status in found} or {200}


# curl reports each answer's status on stderr; the commands' output stays as it is.
CURL_STATUS = "curl() { command curl -w '%{stderr}HTTP %{http_code}\\n' \"$@\"; }\n"
# A person reads the cancel's answer before typing the retry; a script waits for the end.
UNTIL_ENDED = ("for _ in $(seq 100); do command curl -s -H \"Authorization: Bearer $TOKEN\" "
               "\"$API/jobs/$JOB\" | grep -Eq '\"status\": ?\"(" + "|".join(FINAL) + ")\"' "
               "&& break; sleep 0.2; done\n")


def run_block(commands: list[str], dev: Dev, stdin: str = "") -> list[dict]:
    """Run the commands one after another in one bash, in the checkout, from a new shell's
    environment; each one's exit status, output and HTTP statuses."""
    out = Path(tempfile.mkdtemp(dir=dev.checkout, prefix="block-"))
    script = [CURL_STATUS]
    for number, command in enumerate(commands):
        if "/retry" in command:
            script.append(UNTIL_ENDED)
        script.append(f"{{ {command}\n}} >{out}/{number}.out 2>{out}/{number}.err; "
                      f"echo $? >{out}/{number}.rc\n")
    (out / "script.sh").write_text("".join(script))
    subprocess.run(["bash", str(out / "script.sh")], cwd=dev.checkout, env=_new_shell_env(),
                   input=stdin, text=True, timeout=120, start_new_session=True)
    results = []
    for number, command in enumerate(commands):
        err = (out / f"{number}.err").read_text()
        results.append({"command": command, "rc": int((out / f"{number}.rc").read_text()),
                        "out": (out / f"{number}.out").read_text(), "err": err,
                        "http": [int(code) for code in re.findall(r"^HTTP (\d+)$", err, re.M)]})
    return results


def _check(results: list[dict]) -> None:
    for result in results:
        command = result["command"]
        assert result["rc"] == 0, result
        if re.search(r"(^|[\s(])curl ", command):
            assert result["http"], result
            assert set(result["http"]) <= documented_statuses(command), result


def test_readme_marks_the_blocks_people_run_against_make_dev():
    blocks = readme_blocks()
    assert len(blocks) == 3  # Accounts, the JSON API, Troubleshooting (a password)
    assert all(block[0].startswith(". instance/dev.env") for block in blocks)
    api = next(block for block in blocks if any("$API/tasks" in c for c in block))
    assert documented_statuses(next(c for c in api if "/cancel" in c)) == {200, 202}


def test_readme_commands_work_as_written_in_a_new_shell(dev):
    accounts, api, password = readme_blocks()

    results = run_block(api, dev)
    _check(results)
    token = next(r for r in results if r["command"].startswith("TOKEN="))
    assert token["err"] == "", token
    by_path = {re.search(r"\$API(/[\w/$]*)", r["command"]).group(1): r
               for r in results if "$API" in r["command"] and "API=" not in r["command"]}
    assert '"countdown"' in by_path["/tasks"]["out"]
    assert by_path["/tasks/countdown"]["http"] == [202]
    assert by_path["/jobs/$JOB/retry"]["http"] == [202]
    assert '"limits"' in by_path["/me"]["out"]

    stdin = "another-pass-1\nanother-pass-1\n"
    results = run_block(accounts, dev, stdin=stdin)
    _check(results)
    assert "Created account alice@example.com" in results[1]["out"]
    assert "Changed the password of alice@example.com" in results[2]["out"]
    assert results[3]["out"].splitlines()[-1].startswith("crt_")

    results = run_block(password, dev, stdin=stdin)
    _check(results)
    assert "Changed the password of admin@example.com" in results[-1]["out"]


def test_the_export_line_make_dev_prints_is_enough_in_a_new_shell(dev):
    line = re.search(r"^  export .*$", dev.output(), re.M).group(0)
    assert "CUTROOM_ENV=development" in line and "DATABASE_URL=" in line
    result = subprocess.run(
        ["bash", "-c", f"{line}\n.venv/bin/flask --app wsgi tokens create admin@example.com"
                       f" | tail -n 1"],
        cwd=dev.checkout, env=_new_shell_env(), capture_output=True, text=True, timeout=60,
        start_new_session=True)
    assert result.returncode == 0 and result.stdout.startswith("crt_"), result


def test_make_shell_without_make_dev_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "webapp.dev", "shell", "true"], cwd=ROOT,
                            env=_new_shell_env(CUTROOM_INSTANCE_DIR=str(tmp_path)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "`make dev` is not running" in result.stderr


# Ctrl+C ------------------------------------------------------------------------------------

def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _job(dev: Dev, token: str, job_id: str) -> dict:
    answer = httpx.get(f"{dev.url}/api/v1/jobs/{job_id}",
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_ctrl_c_puts_the_running_job_back_and_the_next_start_runs_it(dev):
    token = dev.token()
    answer = httpx.post(f"{dev.url}/api/v1/tasks/countdown", json={"steps": 6},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    first = wait_for(lambda: (job := _job(dev, token, job_id))["status"] == "started"
                     and job["progress"] > 0 and job, timeout=60, message="the job to run")

    returncode, seconds = dev.interrupt()
    output = dev.output()
    steps = re.findall(r"^\d\d:\d\d:\d\d dev +\| (.*)$", output, re.M)
    print("\n".join(steps))  # the measured shutdown, for the curious (pytest -s)
    assert returncode == 0, output[-5000:]
    assert seconds < 40, output[-5000:]  # about 9 s on an idle machine
    assert "Traceback" not in output, output
    assert f"Job {job_id} did not finish within 3 s of shutdown; putting it back" in output
    assert [step.split(" stopped")[0] for step in steps[1:]] == [
        "worker", "web and reconciler", "Redis", "PostgreSQL"], steps
    assert all(re.fullmatch(r".* stopped \(\d+\.\d s\)", step) for step in steps[1:]), steps
    worker_seconds = float(re.search(r"\((\S+) s\)", steps[1]).group(1))
    assert worker_seconds < 3 + WORKER_STOP_MARGIN  # its grace period, then its job put back
    assert not (dev.instance / "dev.env").exists()

    # While it is down, the row says queued and the job waits in Redis's (persisted) queue.
    postgres = start_postgres(dev.instance / "postgres")
    redis = start_redis(dev.instance / "redis")
    try:
        import psycopg

        with psycopg.connect(postgres.url_for("cutroom")) as conn:
            status, attempt = conn.execute(
                "SELECT status, attempt FROM background_jobs WHERE id = %s",
                (uuid.UUID(job_id),)).fetchone()
        assert (status, attempt) == ("queued", 0)
        assert job_id.encode() in Redis.from_url(redis.url).lrange("rq:queue:default", 0, -1)
    finally:
        redis.stop()
        postgres.stop()

    restarted = time.time()
    dev.start()
    done = wait_for(lambda: (job := _job(dev, token, job_id))["status"] in FINAL and job,
                    timeout=60, message="the job to end after the restart")
    assert done["status"] == "finished", done
    assert done["result"] == {"steps": 6} and done["attempt"] == 1
    assert done["worker_name"] != first["worker_name"]
    assert _seconds(done["started_at"]) >= restarted - 1  # it ran again, from the start
