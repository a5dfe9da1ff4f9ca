"""Issue 14's whole path: a project with two uploaded pictures, one clip, uploaded music and
word-highlighted captions, rendered by a real worker, played in a real browser; its frames
move within a scene and show the caption."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from tests.browser import sign_in, watch_problems
from tests.media import ffmpeg, frame_image
from tests.support import WorkerProcess, child_env, make_token, make_user, wait_for
from tests.video.motion_media import rms_db
from webapp.render import storage
from webapp.video.ffmpeg import probe

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ACCENT = (255, 0, 255)  # the highlighted word; nothing else in the pictures is magenta
SCRIPT = [{"heading": "The hive", "narration": "Bees live together in a busy hive."},
          {"heading": "Flowers", "narration": "They visit many flowers every single day."},
          {"heading": "Waggle dance", "narration": "A dance tells the others where to go."},
          {"heading": "Honey", "narration": "Nectar slowly becomes sweet golden honey."}]


def _picture(path: Path, tone: int) -> Path:
    """A grey picture with detail to move across (shapes, stripes): no magenta in it."""
    image = Image.new("RGB", (1600, 1000), (tone, tone, tone))
    draw = ImageDraw.Draw(image)
    for i in range(0, 1600, 80):
        draw.rectangle((i, 0, i + 30, 1000), fill=(tone // 2, tone // 2 + 20, tone // 2))
    for i in range(12):
        draw.ellipse((100 * i, 60 * i, 100 * i + 160, 60 * i + 160), fill=(240, 230, 40))
    image.save(path, quality=92)
    return path


@pytest.fixture
def uploads(tmp_path: Path) -> dict[str, Path]:
    clip, music = tmp_path / "bees.mp4", tmp_path / "tune.m4a"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=3", "-c:a", "aac", str(music))
    return {"one": _picture(tmp_path / "one.jpg", 120), "two": _picture(tmp_path / "two.jpg", 90),
            "clip": clip, "music": music}


def _put(client, auth, url: str, path: Path) -> dict:
    response = client.put(url, headers=auth, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(path.read_bytes()), path.name)})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _render(client, auth, project: dict) -> dict:
    assert client.post(project["links"]["render"], headers=auth).status_code == 202

    def done():
        body = client.get(project["links"]["self"], headers=auth).get_json()
        ended = body["renders"] and body["renders"][0]["status"] in (
            "finished", "failed", "stopped", "canceled")
        return ended and body

    return wait_for(done, timeout=240, interval=0.5, message="the render to end")


def _difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def _accent_pixels(frame: Image.Image) -> int:
    """Magenta-ish pixels in the caption zone (the bottom quarter)."""
    zone = frame.crop((0, frame.height * 3 // 4, frame.width, frame.height))
    red, green, blue = zone.split()
    mask = ImageChops.multiply(ImageChops.multiply(
        red.point(lambda v: 255 if v > 180 else 0), blue.point(lambda v: 255 if v > 180 else 0)),
        green.point(lambda v: 255 if v < 110 else 0))
    return mask.histogram()[255]


def test_pictures_a_clip_music_and_highlighted_captions(client, live_db, redis, server,
                                                        browser, uploads, tmp_path):
    owner = make_user()
    auth = {"Authorization": f"Bearer {make_token(owner)}"}
    project = client.post("/api/v1/projects", headers=auth, json={
        "title": "How bees make honey", "script": SCRIPT, "voice": "silent",
        "captions": {"style": "highlight", "position": "bottom", "size": "large"},
        "theme": {"preset": "midnight", "accent": "#ff00ff"}}).get_json()
    scene = f"/api/v1/projects/{project['id']}/scenes"
    _put(client, auth, f"{scene}/1/media", uploads["one"])
    _put(client, auth, f"{scene}/2/media", uploads["two"])
    _put(client, auth, f"{scene}/3/media", uploads["clip"])
    _put(client, auth, f"/api/v1/projects/{project['id']}/music", uploads["music"])

    worker = WorkerProcess(child_env()).wait_ready(redis)
    try:
        body = _render(client, auth, project)
    finally:
        worker.stop()
    render = body["renders"][0]
    assert render["status"] == "finished", render
    with client.get(body["video"]["files"]["video"], headers=auth) as response:
        video = tmp_path / "video.mp4"
        video.write_bytes(response.get_data())
    info = probe(video)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (
        1280, 720, "h264", "aac")
    durations = storage.read_manifest(render["stages"][0]["result"]["output"])[
        "scene_durations"]
    first = durations[0]

    # Three moments of the first scene (a picture): the picture moves, the caption shows.
    moments = [frame_image(video, first * f, tmp_path) for f in (0.2, 0.5, 0.8)]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert _difference(moments[a], moments[b]) > 1.0, (a, b)
    assert all(_accent_pixels(frame) > 50 for frame in moments)
    # The clip scene plays: two moments of it differ as well.
    clip_start = sum(durations[:2])
    assert _difference(frame_image(video, clip_start + 0.4, tmp_path),
                       frame_image(video, clip_start + 1.4, tmp_path)) > 1.0
    # The silent voice says nothing: what is heard is the uploaded music, to the end.
    assert rms_db(video, 0.5, 2) > -60  # silence is -inf
    assert rms_db(video, info.duration - 2.5, 1.5) > -60

    # It plays in the browser, from the project page.
    page = browser.new_page()
    problems = watch_problems(page)
    sign_in(page, server, owner)
    page.goto(f"{server}/projects/{project['id']}")
    played = page.evaluate("""async () => {
        const video = document.querySelector("#output video");
        video.muted = true;
        await video.play();
        await new Promise((done) => setTimeout(done, 1500));
        return {time: video.currentTime, error: video.error && video.error.code,
                width: video.videoWidth};
    }""")
    assert played["error"] is None and played["time"] > 0.5 and played["width"] == 1280
    assert problems == []
