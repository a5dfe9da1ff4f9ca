"""A fake Pexels and Pixabay on 127.0.0.1: a real HTTP server speaking both search APIs.

Start it with `with FakeStock() as fake:`; `fake.settings()` gives StockSettings pointing at
it with the right keys. Pexels lives under /pexels (GET /pexels/v1/search and
/pexels/videos/search, the key in `Authorization`), Pixabay under /pixabay/api (GET
/pixabay/api/ and /pixabay/api/videos/, the key as `key=`); a wrong key answers 401 (Pixabay:
400 "Invalid API key", as the real one does). Every search answer's files are served from
/files/: a small JPEG made with Pillow and an MP4 made with the bundled ffmpeg.

`fake.mode` changes every answer: "refuse" (401), "rate-limit" (429 with Retry-After),
"slow" (sleeps `fake.delay` seconds first), "empty" (no results). /files/away redirects to
the same file on `localhost` (a host no settings allow), /files/hop to /files/photo.jpg,
/files/stream.jpg is sent without a Content-Length. `fake.searches` records each search
(path and query parameters), so the cache can be tested.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.fake_server import Background
from tests.media import ffmpeg
from webapp.stock import StockSettings

PEXELS_KEY = "pexels-test-key"
PIXABAY_KEY = "12345-pixabay-test-key"
# (id, width, height) of the photos each orientation finds, best match first.
PHOTOS = {
    "landscape": [(101, 6000, 4000), (102, 1920, 1080), (103, 800, 533)],
    "portrait": [(201, 3000, 4500), (202, 1080, 1920)],
    "square": [(301, 3000, 3000)],
}
# (id, width, height, seconds) of the clips: Pixabay's video search has no orientation.
CLIPS = [(401, 3840, 2160, 12), (402, 1920, 1080, 5), (403, 1080, 1920, 30)]


def _media() -> dict[str, bytes]:
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (96, 54), (30, 120, 200)).save(picture, "JPEG", quality=85)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=1", "-c:v",
               "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(clip))
        return {"photo.jpg": picture.getvalue(), "clip.mp4": clip.read_bytes()}


class FakeStock:
    """The server on a free port; stopped when the `with` block ends."""

    def __init__(self) -> None:
        self.origin = ""
        self.mode: str | None = None
        self.delay = 2.0
        self.searches: list[tuple[str, dict[str, str]]] = []
        self.files = _media()

    def settings(self, **overrides) -> StockSettings:
        """StockSettings for this server, with both keys; `overrides` change any field."""
        fields = {"pexels_api_key": PEXELS_KEY, "pixabay_api_key": PIXABAY_KEY,
                  "pexels_base_url": f"{self.origin}/pexels",
                  "pixabay_base_url": f"{self.origin}/pixabay/api", "http_timeout": 5.0}
        return StockSettings(**{**fields, **overrides})

    def count(self, provider: str) -> int:
        """How many searches of that provider arrived."""
        return sum(path.startswith(f"/{provider}/") for path, _ in self.searches)

    def __enter__(self) -> FakeStock:
        self._served = Background(_handler(self))
        self.origin = self._served.origin
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()

    def pexels(self, path: str, query: dict[str, str]) -> dict:
        """A Pexels search answer in the real API's shape."""
        if path.endswith("/videos/search"):
            return {"page": 1, "per_page": int(query.get("per_page", 15)),
                    "videos": [self._pexels_video(*clip) for clip in CLIPS
                               if _orientation(clip[1], clip[2]) == query.get("orientation")]}
        photos = PHOTOS.get(query.get("orientation", "landscape"), [])
        return {"page": 1, "per_page": int(query.get("per_page", 15)),
                "photos": [self._pexels_photo(*photo) for photo in photos]}

    def _pexels_photo(self, id_: int, width: int, height: int) -> dict:
        original = f"{self.origin}/files/photo.jpg?id={id_}"
        sizes = {"original": original,
                 "large2x": f"{original}&auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
                 "large": f"{original}&auto=compress&cs=tinysrgb&h=650&w=940",
                 "portrait": f"{original}&fit=crop&h=1200&w=800"}
        return {"id": id_, "width": width, "height": height,
                "url": f"https://www.pexels.com/photo/a-photo-{id_}/",
                "photographer": f"Photographer {id_}",
                "photographer_url": f"https://www.pexels.com/@p{id_}", "src": sizes,
                "alt": f"A photo number {id_}"}

    def _pexels_video(self, id_: int, width: int, height: int, seconds: int) -> dict:
        sizes = [(width, height), (width * 2 // 3, height * 2 // 3), (width // 3, height // 3),
                 (width // 4, height // 4)]
        files = [{"id": id_ * 10 + n, "quality": "hd", "file_type": "video/mp4", "width": w,
                  "height": h, "link": f"{self.origin}/files/clip.mp4?id={id_}&w={w}"}
                 for n, (w, h) in enumerate(sizes)]
        files.append({"id": id_ * 10 + 9, "quality": "hls", "file_type": "video/mp4",
                      "width": None, "height": None, "link": f"{self.origin}/x.m3u8"})
        return {"id": id_, "width": width, "height": height, "duration": seconds,
                "url": f"https://www.pexels.com/video/a-clip-{id_}/",
                "user": {"name": f"Filmer {id_}", "url": f"https://www.pexels.com/@f{id_}"},
                "video_files": files}

    def pixabay(self, path: str, query: dict[str, str]) -> dict:
        """A Pixabay search answer in the real API's shape."""
        if path.endswith("/videos/"):
            hits = [self._pixabay_video(*clip) for clip in CLIPS]
        else:
            wanted = {"horizontal": "landscape", "vertical": "portrait"}.get(
                query.get("orientation", "all"))
            photos = [p for o, group in PHOTOS.items() for p in group
                      if wanted in (None, o)]
            hits = [self._pixabay_photo(*photo) for photo in photos]
        return {"total": len(hits), "totalHits": len(hits), "hits": hits}

    def _pixabay_photo(self, id_: int, width: int, height: int) -> dict:
        return {"id": id_, "pageURL": f"https://pixabay.com/photos/a-photo-{id_}/",
                "type": "photo", "tags": "bee, honey, flower", "imageWidth": width,
                "imageHeight": height, "webformatURL": f"{self.origin}/files/photo.jpg?s=640",
                "largeImageURL": f"{self.origin}/files/photo.jpg?id={id_}&s=1280",
                "user": f"snapper{id_}",
                "user_id": 9000 + id_, "imageSize": width * height}

    def _pixabay_video(self, id_: int, width: int, height: int, seconds: int) -> dict:
        names = ("large", "medium", "small", "tiny")
        videos = {name: {"url": f"{self.origin}/files/clip.mp4?id={id_}&s={name}",
                         "width": width // (n + 1), "height": height // (n + 1),
                         "size": 1000} for n, name in enumerate(names)}
        return {"id": id_, "pageURL": f"https://pixabay.com/videos/a-clip-{id_}/",
                "type": "film", "tags": "bee, hive", "duration": seconds, "videos": videos,
                "user": f"filmer{id_}", "user_id": 8000 + id_}


def _orientation(width: int, height: int) -> str:
    return "landscape" if width > height else "portrait" if width < height else "square"


def _handler(fake: FakeStock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass  # keep test output quiet

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if fake.mode == "slow":
                time.sleep(fake.delay)
            if parts.path.startswith("/files/"):
                return self._file(parts.path.removeprefix("/files/"))
            fake.searches.append((parts.path, query))
            if parts.path.startswith("/pexels/"):
                return self._search("pexels", parts.path, query,
                                    self.headers.get("Authorization") == PEXELS_KEY)
            if parts.path.startswith("/pixabay/api/"):
                return self._search("pixabay", parts.path, query,
                                    query.get("key") == PIXABAY_KEY)
            self._send(404, b'{"error": "no such path"}')

        def _search(self, provider: str, path: str, query: dict, key_ok: bool) -> None:
            if fake.mode == "refuse" or not key_ok:
                if provider == "pixabay":
                    return self._send(400, b"[ERROR 400] Invalid API key.", "text/plain")
                return self._send(401, b'{"error": "Unauthorized"}')
            if fake.mode == "rate-limit":
                return self._send(429, b'{"error": "Too many requests"}',
                                  headers={"Retry-After": "30"})
            answer = getattr(fake, provider)(path, query)
            if fake.mode == "empty":
                answer = {key: [] if isinstance(value, list) else value
                          for key, value in answer.items()}
            self._send(200, json.dumps(answer).encode())

        def _file(self, name: str) -> None:
            if fake.mode == "refuse":
                return self._send(403, b"Forbidden", "text/plain")
            if name == "away":
                return self._redirect(f"http://localhost:{self.server.server_address[1]}"
                                      "/files/photo.jpg")
            if name == "hop":
                return self._redirect("/files/photo.jpg")
            if name == "stream.jpg":
                return self._stream(fake.files["photo.jpg"])
            if name not in fake.files:
                return self._send(404, b"no such file", "text/plain")
            kind = "image/jpeg" if name.endswith(".jpg") else "video/mp4"
            self._send(200, fake.files[name], kind)

        def _redirect(self, location: str) -> None:
            self._send(302, b"", "text/plain", headers={"Location": location})

        def _stream(self, body: bytes) -> None:
            self.send_response(200)  # HTTP/1.0 without a length: the body ends at close
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(body)

        def _send(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
