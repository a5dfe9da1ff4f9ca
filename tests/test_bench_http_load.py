"""bench/http_load.py, the benchmarks' own HTTP client, against a real HTTP server
(werkzeug's, in a thread): the figures of `make bench` are only as right as what it reads."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from http_load import Client, HTTPError  # noqa: E402


@Request.application
def _app(request: Request) -> Response:
    if request.path == "/empty":
        return Response(status=204)
    if request.path == "/chunks":
        return Response((part for part in [b"one ", b"two"]), status=200)  # no length: chunked
    return Response(f"{request.method} {request.full_path} {request.get_data(as_text=True)} "
                    f"{request.headers.get('X-Who')}", status=201)


@pytest.fixture(scope="module")
def base():
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    server.protocol_version = "HTTP/1.1"  # keep-alive, and chunks for bodies of no length
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_answers_are_read_whole_over_reused_connections(base):
    async def scenario():
        client = Client(base, connections=2)
        try:
            answers = await asyncio.gather(*(
                client.request("POST", f"/echo?n={n}", {"X-Who": f"c{n}"}, f"body{n}".encode())
                for n in range(6)))
            empty = await client.request("GET", "/empty", {})
            chunked = await client.request("GET", "/chunks", {})
            return answers, empty, chunked, client.count
        finally:
            client.close()

    answers, empty, chunked, opened = asyncio.run(scenario())
    assert answers == [(201, f"POST /echo?n={n} body{n} c{n}".encode()) for n in range(6)]
    assert empty == (204, b"")
    assert chunked == (200, b"one two")
    assert opened <= 2  # six requests waited for the two connections


def test_a_refused_connection_is_an_error():
    async def scenario():
        return await Client("http://127.0.0.1:9", connections=1).request("GET", "/", {})

    with pytest.raises(HTTPError, match="cannot connect"):
        asyncio.run(scenario())
