"""The one fake OpenAI-compatible server of the tests: a real HTTP server on 127.0.0.1.

Start it with `with FakeOpenAI() as fake:` (the video tests' `fake_openai` fixture does);
`fake.base_url` ends in /v1 like a real deployment. Replies are set per path: `chat()` for
chat completions, `speak()` for audio/speech, `reply()` for anything else (a status, a body,
a delay); other paths answer 404. A request without `Bearer API_KEY` answers 401, as the
real service does. `fake.requests` records what it received.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.fake_server import Background
from tests.media import tone, wav_bytes

API_KEY = "sk-test-key"


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
class Reply:
    """What the fake server sends for one path; `body` may be built from the request."""

    status: int = 200
    body: bytes | Callable[[Recorded], bytes] = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


class FakeOpenAI:
    """A server on a free port, replying as told; stopped when the `with` block ends."""

    def __init__(self) -> None:
        self.base_url = ""
        self.replies: dict[str, Reply] = {}
        self.requests: list[Recorded] = []

    def reply(self, path: str, **kwargs) -> None:
        """Answer POSTs to /v1/{path} with a Reply built from kwargs."""
        self.replies[f"/v1/{path}"] = Reply(**kwargs)

    def chat(self, content: str) -> None:
        """Answer chat completions with content as the assistant message."""
        completion = {"choices": [{"message": {"role": "assistant", "content": content}}]}
        self.reply("chat/completions", body=json.dumps(completion).encode())

    def speak(self, rate: int = 24000) -> None:
        """Answer audio/speech with a WAV tone about as long as the text takes to say."""
        def tone_for(request: Recorded) -> bytes:
            return wav_bytes(tone(0.3 + len(request.json()["input"]) / 40, rate), rate)

        self.reply("audio/speech", body=tone_for, content_type="audio/wav")

    def __enter__(self) -> FakeOpenAI:
        self._served = Background(_handler(self))
        self.base_url = f"{self._served.origin}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()


_UNAUTHORIZED = Reply(401, b'{"error": {"message": "Incorrect API key provided"}}')
_NOT_FOUND = Reply(404, b'{"error": "no such path"}')


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass  # keep test output quiet

        def do_POST(self) -> None:
            request = Recorded(self.path, dict(self.headers),
                               self.rfile.read(int(self.headers.get("Content-Length", 0))))
            fake.requests.append(request)
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                reply = _UNAUTHORIZED
            else:
                reply = fake.replies.get(self.path, _NOT_FOUND)
            time.sleep(reply.delay)
            body = reply.body(request) if callable(reply.body) else reply.body
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
