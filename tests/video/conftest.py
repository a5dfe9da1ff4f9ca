"""Fixtures for the video library: a scriptable OpenAI-compatible server and WAV helpers.

Nothing here needs PostgreSQL or Redis; do not use the repository's `app` fixtures.
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

API_KEY = "sk-test-key"


@dataclass
class Reply:
    """What the fake server sends for one path."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Recorded:
    """One request the fake server received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        """The request body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class FakeOpenAI:
    """Replies set per path with reply(); base_url ends in /v1 like a real deployment."""

    base_url: str
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def reply(self, path: str, **kwargs) -> None:
        """Answer POSTs to /v1/{path} with a Reply built from kwargs."""
        self.replies[f"/v1/{path}"] = Reply(**kwargs)

    def chat(self, content: str) -> None:
        """Answer chat completions with content as the assistant message."""
        completion = {"choices": [{"message": {"role": "assistant", "content": content}}]}
        self.reply("chat/completions", body=json.dumps(completion).encode())


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass  # keep test output quiet

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append(Recorded(self.path, dict(self.headers), body))
            reply = fake.replies.get(self.path, Reply(404, b'{"error": "no such path"}'))
            time.sleep(reply.delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is expected in the timeout tests


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A real HTTP server on 127.0.0.1 (a free port), stopped after the test."""
    fake = FakeOpenAI(base_url="")
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    # A short poll interval makes shutdown() quick (the default waits up to 0.5 s).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def tone(seconds: float, rate: int, *, channels: int = 1, frequency: float = 440.0) -> bytes:
    """Interleaved 16-bit samples of a sine tone (the same on every channel)."""
    values = (
        int(12000 * math.sin(2 * math.pi * frequency * i / rate))
        for i in range(round(seconds * rate))
    )
    return b"".join(struct.pack("<h", v) * channels for v in values)


def wav_bytes(samples: bytes, rate: int, *, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file written by the standard library."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def streaming_wav(
    samples: bytes, rate: int, placeholder: int = 0xFFFFFFFF, *, channels: int = 1
) -> bytes:
    """A WAV whose sizes are a placeholder, as espeak-ng --stdout and OpenAI stream them."""
    header = wav_bytes(b"", rate, channels=channels)[:44]
    header = header[:4] + struct.pack("<I", placeholder) + header[8:40]
    return header + struct.pack("<I", placeholder) + samples
