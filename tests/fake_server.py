"""A real HTTP server on a free 127.0.0.1 port, in a thread: what the fake remote APIs of
the tests (fake_openai.py, fake_stock.py) run on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is expected in the timeout tests


class Background:
    """`handler` served until stop(); `origin` is its http://127.0.0.1:<port>."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval makes shutdown() quick (the default waits up to 0.5 s).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
