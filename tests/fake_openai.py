"""A small OpenAI-compatible server on 127.0.0.1 for provider tests: chat completions that
return a JSON script, and audio/speech that returns a WAV tone as long as the text needs."""

from __future__ import annotations

import io
import json
import math
import struct
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "test-key"


def tone_wav(seconds: float, rate: int = 24000) -> bytes:
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]]

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._reply(401, b'{"error": {"message": "bad key"}}', "application/json")
        elif self.path == "/v1/chat/completions":
            scenes = [{"heading": "Opening", "narration": "Served by the fake model. Hello."},
                      {"heading": "Closing", "narration": "That is all from the fake."}]
            content = json.dumps({"scenes": scenes})
            reply = {"choices": [{"message": {"role": "assistant", "content": content}}]}
            self._reply(200, json.dumps(reply).encode(), "application/json")
        elif self.path == "/v1/audio/speech":
            self._reply(200, tone_wav(0.3 + len(body["input"]) / 40), "audio/wav")
        else:
            self._reply(404, b"{}", "application/json")


class FakeOpenAI:
    """Start with `with FakeOpenAI() as server:`; `server.base_url` ends in /v1."""

    def __enter__(self) -> FakeOpenAI:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        return self

    @property
    def requests(self) -> list[tuple[str, dict]]:
        return self.httpd.requests

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
