"""The Procfile's gunicorn settings, checked in a real gunicorn worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live import free_port
from tests.support import ROOT, wait_for


def test_a_web_worker_freezes_what_it_loaded_out_of_the_garbage_collector():
    """Full collections must not scan the loaded app (a pause of 50-300 ms for every
    request in flight, bench/poll.py): the worker freezes its heap once loaded."""
    port = free_port()
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "PYTHONPATH": str(Path(__file__).parent / "gc_probe")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gc_probe:app", "--config",
         "python:webapp.gunicorn_conf"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def answer():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).json()
            except httpx.HTTPError:
                return None

        state = wait_for(answer, timeout=30, message="gunicorn to answer")
        assert state["frozen"] > 1000, state
        assert state["tracked"] < state["frozen"], state
    finally:
        server.terminate()
        server.wait(timeout=30)
