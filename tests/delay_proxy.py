"""A TCP proxy that delays every byte by a fixed time each way: a long-distance link.

    python -m tests.delay_proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT SECONDS

Data is forwarded in order, each chunk `SECONDS` after it arrived, so a request and its
answer take twice that longer (one round trip). Used on a lab host where the kernel has no
netem qdisc to add latency with `tc`.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import sys
import threading
import time


def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
    pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def deliver() -> None:
        with contextlib.suppress(OSError):
            while True:
                due, data = pending.get()
                if not data:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    threading.Thread(target=deliver, daemon=True).start()
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            pending.put((time.monotonic() + delay, data))
    pending.put((time.monotonic() + delay, b""))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def serve(listen: tuple[str, int], upstream: tuple[str, int], delay: float) -> None:
    listener = socket.create_server(listen, reuse_port=False)
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(upstream, timeout=10)
        except OSError:
            client.close()
            continue
        server.settimeout(None)
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(a, b, delay), daemon=True).start()


if __name__ == "__main__":
    serve(_address(sys.argv[1]), _address(sys.argv[2]), float(sys.argv[3]))
