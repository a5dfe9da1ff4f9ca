"""A web server under benchmark: gunicorn started pinned to some cores, the Procfile's web
command, the CPU a server process tree has used, and waiting until it is idle. Shared by
bench/poll.py and bench/submit.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def pin(cpus: str) -> None:
    """Keep this process on `cpus` ("1", "0,1"; "" leaves it anywhere)."""
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def web_command() -> str:
    """The Procfile's web command, as the tests read it (tests/live.py)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise SystemExit("no web process in the Procfile")


def start(command: str, env: dict[str, str], cpus: str, port: int, log: Path,
          ready_status: int | None = 200,
          pythonpath: tuple[Path, ...] = ()) -> subprocess.Popen:
    """Start `command` (a gunicorn line) in a session of its own, pinned with taskset to
    `cpus`, bound to 127.0.0.1:`port`, in production mode; return once /healthz answers
    `ready_status` (None: any answer, for apps that have no /healthz).

    "" means every core of the host, said explicitly: the caller may have pinned itself
    (the load generator), and a child without taskset would inherit that pin."""
    taskset = ["taskset", "-c", cpus or f"0-{(os.cpu_count() or 1) - 1}"]
    env = {**env, "CUTROOM_ENV": "production", "BIND": f"127.0.0.1:{port}",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env.get("PYTHONPATH", "")])
    process = subprocess.Popen([*taskset, "bash", "-c", command], cwd=ROOT, env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if ready_status is None or answer.status_code == ready_status:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    os.killpg(process.pid, 15)
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children so far."""
    import psutil

    top = psutil.Process(pid)
    total = 0.0
    for process in [top, *top.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def settle(pid: int) -> None:
    """Wait (30 s at most) until the server is idle: a phase that overloaded it leaves
    requests queued that must not count against the next."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1)
        if cpu_seconds(pid) - before < 0.05:
            return
