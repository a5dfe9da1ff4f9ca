"""Separate hosts on one machine: Linux network namespaces joined by a virtual switch.

Each host is a network namespace with one interface (`eth0`, a veth pair whose other end is
on a bridge in a "switch" namespace) and its own address on a private /24; the test process
joins the switch too, so it reaches every host. Processes started on a host see only that
host's network: what one host serves, another reaches over the switch, as over a LAN.
Cutting a host's cable (`cut`) is taking its switch port down.

Needs root (CI runs as root); `available()` says why not otherwise.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    probe = f"crprobe{uuid.uuid4().hex[:4]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, ns: str | None = None) -> None:
    command = ["ip", *(["-n", ns] if ns else []), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@dataclass
class Host:
    """One namespace on the lab's switch."""

    name: str
    namespace: str
    address: str
    port_name: str  # its end on the switch
    processes: list[subprocess.Popen] = field(default_factory=list)

    def command(self, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *args]


class Lab:
    """A switch and the hosts plugged into it; `close()` removes every trace."""

    def __init__(self, log_dir: Path) -> None:
        self.tag = uuid.uuid4().hex[:4]
        self.subnet = f"10.{random.randint(160, 250)}.{random.randint(0, 255)}"
        self.switch = f"crsw{self.tag}"
        self.log_dir = log_dir
        self.hosts: dict[str, Host] = {}
        self._root_link = f"cr{self.tag}r"
        _ip("netns", "add", self.switch)
        try:
            _ip("link", "set", "lo", "up", ns=self.switch)
            _ip("link", "add", "br0", "type", "bridge", ns=self.switch)
            _ip("link", "set", "br0", "up", ns=self.switch)
            # The test process's own cable, so it can reach every host.
            self._plug(self._root_link, f"cr{self.tag}x", None, f"{self.subnet}.1")
        except Exception:
            self.close()
            raise

    def _plug(self, host_end: str, switch_end: str, namespace: str | None,
              address: str) -> None:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", switch_end)
        _ip("link", "set", switch_end, "netns", self.switch)
        _ip("link", "set", switch_end, "master", "br0", ns=self.switch)
        _ip("link", "set", switch_end, "up", ns=self.switch)
        if namespace is not None:
            _ip("link", "set", host_end, "netns", namespace)
            _ip("link", "set", host_end, "name", "eth0", ns=namespace)
            host_end = "eth0"
        _ip("addr", "add", f"{address}/24", "dev", host_end, ns=namespace)
        _ip("link", "set", host_end, "up", ns=namespace)

    def add_host(self, name: str) -> Host:
        index = len(self.hosts) + 2
        host = Host(name=name, namespace=f"cr{self.tag}{name}", address=f"{self.subnet}.{index}",
                    port_name=f"cr{self.tag}p{index}")
        _ip("netns", "add", host.namespace)
        self.hosts[name] = host
        _ip("link", "set", "lo", "up", ns=host.namespace)
        self._plug(f"cr{self.tag}h{index}", host.port_name, host.namespace, host.address)
        return host

    def start(self, host: Host, args: list[str], env: dict[str, str], log_name: str,
              cwd: Path | None = None) -> subprocess.Popen:
        """Run a program on the host; its output goes to log_dir/<log_name>.log."""
        log = open(self.log_dir / f"{log_name}.log", "ab")  # noqa: SIM115 (the child owns it)
        process = subprocess.Popen(host.command(args), env=env, cwd=cwd, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log.close()
        host.processes.append(process)
        return process

    def run(self, host: Host, args: list[str], env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(host.command(args), env=env, capture_output=True, text=True,
                              timeout=timeout, check=True)

    def cut(self, host: Host) -> None:
        """Pull the host's cable: nothing reaches it and it reaches nothing."""
        _ip("link", "set", host.port_name, "down", ns=self.switch)

    def reconnect(self, host: Host) -> None:
        _ip("link", "set", host.port_name, "up", ns=self.switch)

    def close(self) -> None:
        for host in self.hosts.values():
            for process in host.processes:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, 9)
                    process.wait(timeout=10)
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)
        subprocess.run(["ip", "link", "del", self._root_link], capture_output=True)
