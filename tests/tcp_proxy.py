"""A TCP proxy the tests can cut, blackhole and restore, to make a service unreachable for
the processes that reach it through the proxy.

- `cut()`: reset every connection and refuse new ones (a crashed or restarting server);
- `blackhole()`: keep every connection open but forward nothing in either direction, and
  accept new connections that never get an answer (a hung server, a network partition);
- `restore()`: forward again (connections blackholed meanwhile stay dead, as after a real
  partition their peers have long given up).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards to a TCP address or a unix socket path."""

    def __init__(self, upstream: tuple[str, int] | str):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "open"  # open | refuse | blackhole
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.upstream)
            return sock
        return socket.create_connection(self.upstream)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()  # "connection reset" as far as the client can tell
                continue
            with self.lock:
                self.sockets.append(client)
            if self.mode == "blackhole":
                continue  # accepted by the kernel, answered by no one
            upstream = self._connect_upstream()
            with self.lock:
                self.sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self.mode == "blackhole":
                    continue  # swallowed: the other side waits for ever
                sink.sendall(data)
        if self.mode != "blackhole":
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _drop_all(self) -> None:
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self.mode = "refuse"
        self._drop_all()

    def blackhole(self) -> None:
        """Forward nothing, answer nothing, close nothing."""
        self.mode = "blackhole"

    def restore(self) -> None:
        """Forward again; connections left from a blackhole are dropped first."""
        if self.mode == "blackhole":
            self._drop_all()
        self.mode = "open"

    def close(self) -> None:
        self.cut()
        self.listener.close()
