"""Redis clients as every process makes them (webapp/redis_client.py)."""

from __future__ import annotations

import os

import redis.utils

from webapp import redis_client


def test_a_forked_process_opens_its_connection_without_reading_package_metadata(
        app, monkeypatch):
    """A work-horse opens a new Redis connection for every job; redis-py would read its
    own version from the package metadata each time (0.25-0.5 ms a job)."""
    client = redis_client.connect(app.config, socket_timeout=5)
    assert client.ping()
    reads = []
    monkeypatch.setattr(redis.utils, "get_lib_version",
                        lambda: reads.append(1) or "0")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child, as a work-horse is: the pool opens a connection of its own
        try:
            answered = client.ping() and client.set("forked-child", "yes")
            os.write(write_end, f"{bool(answered)} {len(reads)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 64).decode()
    os.waitpid(pid, 0)
    assert answer == "True 0", answer  # answered, no metadata read
    assert client.get("forked-child") == b"yes"
    assert client.connection_pool.connection_kwargs["driver_info"].lib_version == \
        redis.__version__
