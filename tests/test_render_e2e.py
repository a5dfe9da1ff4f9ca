"""Real renders: a worker process runs every stage; the MP4, subtitles and thumbnail are checked.

Kept short (two scenes, a few seconds, the `silent` voice for most) so the suite stays fast.
"""

import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.fake_openai import API_KEY, FakeOpenAI
from tests.media import parse_srt, parse_vtt
from tests.support import WorkerProcess, child_env, login, make_user, wait_for
from webapp.video.ffmpeg import probe
from webapp.video.script import split_sentences

pytestmark = pytest.mark.e2e

SCRIPT = [{"heading": "The moon", "narration": "The moon pulls the sea. Water bulges out."},
          {"heading": "The sun", "narration": "The sun helps a little. Spring tides are big."}]
FINAL = ("finished", "failed", "stopped", "canceled")


@pytest.fixture
def api(client, live_db):
    user = make_user()
    login(client, user)
    client.user = user
    return client


@pytest.fixture
def start_worker(app, redis, live_db):
    workers = []

    def start(**env):
        worker = WorkerProcess(child_env(**env)).wait_ready(redis)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _project(api, **fields) -> dict:
    body = {"title": "Tides", "script": SCRIPT, "voice": "silent", "music_level": 25, **fields}
    response = api.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _render(api, project: dict, timeout: float = 90) -> dict:
    response = api.post(project["links"]["render"])
    assert response.status_code == 202, response.get_data(as_text=True)
    pipeline_id = response.get_json()["pipeline_id"]

    def done():
        body = api.get(project["links"]["self"]).get_json()
        render = next(r for r in body["renders"] if r["pipeline_id"] == pipeline_id)
        return render["status"] in FINAL and (body, render)

    return wait_for(done, timeout=timeout, interval=0.25, message="the render to end")


def _fetch(client, url: str, **kwargs) -> tuple[int, dict, bytes]:
    """GET a (file) response and close it: file responses hold the file open until then."""
    with client.get(url, **kwargs) as response:
        return response.status_code, dict(response.headers), response.get_data()


def _text(client, url: str) -> str:
    status, _, data = _fetch(client, url)
    assert status == 200, url
    return data.decode()


def _download(api, url: str, tmp_path: Path, name: str) -> Path:
    status, _, data = _fetch(api, url)
    assert status == 200, url
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_render_a_script_into_a_narrated_subtitled_video(api, start_worker, tmp_path):
    start_worker()
    project = _project(api)
    body, render = _render(api, project)
    assert render["status"] == "finished", render
    narrate, frames, assemble = render["stages"]
    assert [s["status"] for s in render["stages"]] == ["finished"] * 3
    files = body["video"]["files"]
    video = _download(api, files["video"], tmp_path, "video.mp4")
    info = probe(video)
    assert abs(info.duration - narrate["result"]["duration"]) < 0.1
    assert (info.width, info.height) == (1280, 720)
    assert (info.video_codec, info.audio_codec, info.subtitle_codec) == ("h264", "aac", "mov_text")

    cues = parse_vtt(_text(api, files["vtt"]))
    sentences = [s for scene in SCRIPT for s in split_sentences(scene["narration"])]
    assert [c.text for c in cues] == sentences
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))
    assert cues[0].start > 0 and cues[-1].end <= info.duration
    assert parse_srt(_text(api, files["srt"])) == cues

    thumbnail = Image.open(io.BytesIO(_fetch(api, files["thumbnail"])[2]))
    assert (thumbnail.format, thumbnail.size) == ("PNG", (1280, 720))

    # The finished stages' cards say how each ended, not the last progress they reported.
    page = _text(api, body["links"]["page"])
    output = page[page.index('<section id="output"'):page.index('<div class="split">')]
    for text in ("sentence", "Scene 1 of", "Encoding", "Storing the video"):
        assert text not in output
    assert output.count('<p class="outcome">Done in ') == 3
    assert f"{narrate['result']['duration']:.1f} s of narration" in output
    assert "2 stills at 1280×720" in output and "s video, " in output
    tile = _text(api, "/projects")
    assert f'<img src="/jobs/{assemble["id"]}/files/thumbnail"' in tile


def test_files_serve_ranges_to_their_owner_only(api, start_worker, client, app):
    start_worker()
    body, render = _render(api, _project(api))
    url = body["video"]["files"]["video"]
    whole = _fetch(api, url)[2]
    status, headers, data = _fetch(api, url, headers={"Range": "bytes=100-1099"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert data == whole[100:1100]
    assert headers["Accept-Ranges"] == "bytes"
    page_url = url.replace("/api/v1", "")
    assert _fetch(api, page_url, headers={"Range": "bytes=0-9"})[0] == 206
    stranger = app.test_client()
    login(stranger, make_user())
    for path in (url, page_url, body["video"]["files"]["vtt"]):
        assert _fetch(stranger, path)[0] == 404, path


def test_a_rerender_reuses_unchanged_stages(api, start_worker):
    start_worker()
    project = _project(api)
    _, first = _render(api, project)
    _, second = _render(api, project)
    assert [s["result"]["reused"] for s in second["stages"]] == [True, True, True]
    assert second["stages"][2]["result"]["output"] == first["stages"][2]["result"]["output"]
    changed = [SCRIPT[0], {**SCRIPT[1], "narration": "Neap tides are small."}]
    assert api.patch(project["links"]["self"], json={"script": changed}).status_code == 200
    _, third = _render(api, project)
    reused = {s["task"]: s["result"]["reused"] for s in third["stages"]}
    assert reused == {"narrate": False, "render-scenes": True, "assemble-video": False}


def test_a_topic_is_written_into_a_script_first(api, start_worker):
    start_worker(MAX_SCENES="2")
    project = _project(api, script=None, topic="How volcanoes form", outline="Magma\nEruptions")
    body, render = _render(api, project)
    assert render["status"] == "finished", render
    assert render["stages"][0]["task"] == "write-script"
    assert len(body["script"]) == 2
    assert body["video"]["duration"] > 1


def test_a_failing_stage_is_named_and_the_later_ones_are_canceled(api, start_worker, app,
                                                                   monkeypatch):
    # The web server has an OpenAI endpoint, so it accepts the voice; the worker has none.
    monkeypatch.setitem(app.config, "OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setitem(app.config, "OPENAI_API_KEY", API_KEY)
    start_worker(OPENAI_BASE_URL="", OPENAI_API_KEY="")
    body, render = _render(api, _project(api, voice="openai:alloy"))
    narrate, frames, assemble = render["stages"]
    assert narrate["status"] == "failed"
    assert "OPENAI_BASE_URL" in narrate["error"]
    for stage in (frames, assemble):
        assert stage["status"] == "canceled"
        assert stage["error"] == "Canceled: the Narrate stage failed."
    assert render["status"] == "failed"
    assert render["message"].startswith("The Narrate stage failed:")
    assert body["video"] is None
    page = api.get(body["links"]["page"]).get_data(as_text=True)
    assert "The Narrate stage failed" in page and "hx-trigger" not in page
    assert "live-state" not in page
    assert narrate["error"].startswith("StageError: ")  # as recorded, for the API and admins
    assert "StageError" not in page  # people read the message alone
    assert "Canceled: the Narrate stage failed." in page


def test_openai_script_and_voice_providers(api, start_worker, tmp_path, app, monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setitem(app.config, "OPENAI_BASE_URL", server.base_url)
        monkeypatch.setitem(app.config, "OPENAI_API_KEY", API_KEY)
        server.chat(json.dumps({"scenes": [
            {"heading": "Opening", "narration": "Served by the fake model. Hello."},
            {"heading": "Closing", "narration": "That is all from the fake."}]}))
        server.speak()
        start_worker(SCRIPT_PROVIDER="openai", OPENAI_BASE_URL=server.base_url,
                     OPENAI_API_KEY=API_KEY)
        body, render = _render(api, _project(api, script=None, topic="Fakes",
                                             voice="openai:alloy"))
        assert render["status"] == "finished", render
        paths = [request.path for request in server.requests]
    assert paths[0] == "/v1/chat/completions"
    assert paths.count("/v1/audio/speech") == 3  # one request per sentence
    assert [s["heading"] for s in body["script"]] == ["Opening", "Closing"]
    info = probe(_download(api, body["video"]["files"]["video"], tmp_path, "v.mp4"))
    assert info.audio_codec == "aac" and info.duration > 1


@pytest.mark.skipif(importlib.util.find_spec("piper") is None, reason="piper not installed")
def test_render_with_the_piper_voice(api, start_worker):
    start_worker()
    body, render = _render(api, _project(api, voice="piper:joe", script=SCRIPT[:1]))
    assert render["status"] == "finished", render
    duration = render["stages"][0]["result"]["duration"]
    assert 1.0 < duration < 10 and abs(body["video"]["duration"] - duration) < 0.1


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_render_with_the_espeak_voice(api, start_worker):
    start_worker()
    body, render = _render(api, _project(api, voice="espeak:en-us", script=SCRIPT[:1]))
    assert render["status"] == "finished", render
    assert body["video"]["duration"] > 1


def test_a_stage_past_its_timeout_fails_as_timeout_and_leaves_no_partial_files(
        api, start_worker, app, monkeypatch):
    from webapp.render import storage
    from webapp.storage import get_store

    # The limit is set when the job is enqueued, by the web process: here, the test's app.
    monkeypatch.setitem(app.config, "TASK_TIMEOUTS", {"assemble-video": 1})
    start_worker()
    long_script = [{"heading": f"Part {i}", "narration": "A long stretch of narration. " * 10}
                   for i in range(2)]
    project = _project(api, script=long_script, format="portrait-1080")
    _, render = _render(api, project)
    assemble = render["stages"][-1]
    assert (assemble["status"], assemble["error_code"]) == ("failed", "timeout")
    with app.app_context():
        video_dir = storage.project_dir(project["id"]) / "video"
        stored = list(get_store().list(f"{storage.project_prefix(project['id'])}video/"))
    leftovers = list(video_dir.glob("*")) if video_dir.exists() else []
    assert leftovers == [] and stored == [], (leftovers, stored)
