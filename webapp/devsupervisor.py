"""The Procfile runner of `make dev`: each process in a session of its own with its output
prefixed by its name, and a stop in stages.

honcho, which `make dev` used before, signals every process at once and kills what is
left 5 s later. A worker told to stop needs its grace period, and Redis and PostgreSQL
during it, to finish its job or put it back in the queue; so here the caller stops the
workers first, then the rest, then its services. Each process leads a session of its
own, so a Ctrl+C in the terminal reaches only the program running this; each also gets
SIGTERM should that program die without stopping it (Linux's parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

COLOURS = (36, 33, 32, 35, 34, 31)
_PR_SET_PDEATHSIG = 1


def read_procfile(path: Path) -> dict[str, str]:
    """The Procfile's processes as {name: command}, in the file's order."""
    processes = {}
    for line in path.read_text().splitlines():
        name, colon, command = line.partition(":")
        if colon and name.strip() and not name.lstrip().startswith("#"):
            processes[name.strip()] = command.strip()
    return processes


@dataclass
class Stopped:
    """How one process ended."""

    name: str
    returncode: int
    killed: bool  # did not stop in time: SIGKILL


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    relay: threading.Thread | None = None


class Supervisor:
    """Runs commands side by side, relays their output line by line, stops them on request."""

    def __init__(self, env: dict[str, str], cwd: Path, out: TextIO | None = None):
        self.env = env
        self.cwd = cwd
        self.out = out or sys.stdout
        self.children: dict[str, Child] = {}
        self._lock = threading.Lock()
        self._width = 3
        self._colour = self.out.isatty() and not os.environ.get("NO_COLOR")

    def say(self, text: str, name: str = "dev") -> None:
        """One line of output, with the time and who says it."""
        label = f"{time.strftime('%H:%M:%S')} {name:<{self._width}} |"
        if self._colour:
            colours = [*self.children, "dev"]
            code = COLOURS[colours.index(name) % len(COLOURS)] if name in colours else 0
            label = f"\033[{code}m{label}\033[0m"
        with self._lock, contextlib.suppress(OSError, ValueError):
            # A closed terminal (SIGHUP) must not stop the stop, nor the relays that keep
            # the children's pipes drained.
            self.out.write(f"{label} {text}\n")
            self.out.flush()

    def start(self, commands: dict[str, str]) -> None:
        """Start every command (through /bin/sh, as a Procfile means it), then relay their
        output; the relays start last, so no thread runs while the children fork."""
        self._width = max(self._width, *map(len, commands))
        preexec = _parent_death_signal(signal.SIGTERM)
        for name, command in commands.items():
            process = subprocess.Popen(
                ["/bin/sh", "-c", command], cwd=self.cwd, env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=preexec)
            self.children[name] = Child(name, process)
        for child in self.children.values():
            child.relay = threading.Thread(target=self._relay, args=(child,), daemon=True)
            child.relay.start()

    def _relay(self, child: Child) -> None:
        for line in child.process.stdout:
            self.say(line.decode(errors="replace").rstrip("\r\n"), child.name)

    def wait(self, stop: threading.Event, interval: float = 0.2) -> Child | None:
        """Until `stop` is set (None) or a process ends by itself (that process)."""
        while not stop.wait(interval):
            for child in self.children.values():
                if child.process.poll() is not None:
                    return child
        return None

    def stop(self, names: list[str], timeout: float) -> list[Stopped]:
        """SIGTERM each of `names` that runs; whatever has not exited `timeout` seconds
        later is killed with its whole session. Returns how each one ended."""
        children = [self.children[name] for name in names if name in self.children]
        for child in children:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        ended = []
        for child in children:
            killed = False
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
            if child.relay is not None:
                child.relay.join(timeout=2)  # its last lines come before what is said next
            ended.append(Stopped(child.name, child.process.returncode, killed))
        return ended


def _parent_death_signal(sig: int) -> Callable[[], object] | None:
    """A preexec_fn that has Linux send `sig` to the child when this process dies; libc
    is looked up here, in the parent, as a forked child should do no more than call it."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
