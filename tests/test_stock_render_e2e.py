"""Stock media in real renders: a worker process searches the fake Pexels on 127.0.0.1 for
each scene without media of its own, keeps one picture per scene, and credits it."""

from __future__ import annotations

import io

import pytest

from tests.fake_stock import PEXELS_KEY, FakeStock
from tests.media import sample_files
from tests.support import WorkerProcess, child_env, login, make_token, make_user, wait_for
from webapp.storage import get_store

pytestmark = pytest.mark.e2e

SCRIPT = [{"heading": "Mountain lakes", "narration": "Cold water fills the valley lakes."},
          {"heading": "My own photo", "narration": "This one is a picture I took."},
          {"heading": "Glaciers", "narration": "Ice carved these valleys long ago."}]


@pytest.fixture
def fake():
    with FakeStock() as server:
        yield server


@pytest.fixture
def stocked(app, fake, monkeypatch):
    """The web app and a worker, both with the fake Pexels' key and address."""
    monkeypatch.setitem(app.config, "PEXELS_API_KEY", PEXELS_KEY)
    monkeypatch.setitem(app.config, "PEXELS_BASE_URL", f"{fake.origin}/pexels")
    return {"PEXELS_API_KEY": PEXELS_KEY, "PEXELS_BASE_URL": f"{fake.origin}/pexels"}


def _render(client, auth, project: dict) -> dict:
    assert client.post(project["links"]["render"], headers=auth).status_code == 202

    def done():
        body = client.get(project["links"]["self"], headers=auth).get_json()
        ended = body["renders"][0]["status"] in ("finished", "failed", "stopped", "canceled")
        return ended and body

    return wait_for(done, timeout=120, interval=0.25, message="the render to end")


def _project(client, auth, **fields) -> dict:
    response = client.post("/api/v1/projects", headers=auth, json={
        "title": "Valleys", "script": SCRIPT, "voice": "silent", **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_scenes_without_media_get_stock_pictures_credited(client, live_db, redis, fake,
                                                          stocked, tmp_path):
    owner = make_user()
    auth = {"Authorization": f"Bearer {make_token(owner)}"}
    project = _project(client, auth, stock_provider="pexels")
    own = sample_files(tmp_path)["photo.jpg"]
    assert client.put(f"/api/v1/projects/{project['id']}/scenes/2/media", headers=auth,
                      content_type="multipart/form-data",
                      data={"file": (io.BytesIO(own.read_bytes()), "mine.jpg")}
                      ).status_code == 201
    worker = WorkerProcess(child_env(**stocked)).wait_ready(redis)
    try:
        body = _render(client, auth, project)
        render = body["renders"][0]
        assert render["status"] == "finished", render
        scenes = render["stages"][1]["result"]
        # Scenes 1 and 3 searched (scene 2 has its own picture), two different photos.
        assert fake.count("pexels") == 2
        assert [c["scene"] for c in scenes["credits"]] == [1, 3]
        assert scenes["media"] == 3 and scenes["notes"] == []
        kept = [info.key for info in get_store().list("stock/pexels/")]
        assert len(kept) == 2 and all(key.endswith("/picture.jpg") for key in kept)
        assert [c["scene"] for c in body["video"]["credits"]] == [1, 3]
        login(client, owner)
        page = client.get(f"/projects/{project['id']}").get_data(as_text=True)
        assert "Stock media:" in page and 'rel="noopener noreferrer nofollow"' in page
        # Rendering again searches no more (the answers are cached by query) and reuses all.
        again = _render(client, auth, project)["renders"][0]
        assert again["status"] == "finished" and fake.count("pexels") == 2
        assert again["stages"][1]["result"]["reused"] is True
    finally:
        worker.stop()


def test_a_rate_limited_search_leaves_text_scenes_and_says_why(client, live_db, redis, fake,
                                                               stocked):
    auth = {"Authorization": f"Bearer {make_token(make_user())}"}
    project = _project(client, auth, stock_provider="pexels")
    fake.mode = "rate-limit"
    worker = WorkerProcess(child_env(**stocked)).wait_ready(redis)
    try:
        render = _render(client, auth, project)["renders"][0]
    finally:
        worker.stop()
    assert render["status"] == "finished", render
    scenes = render["stages"][1]
    assert scenes["result"]["credits"] == [] and len(scenes["result"]["notes"]) == 3
    assert "scene 1:" in scenes["result"]["notes"][0]


def test_a_provider_without_its_key_is_refused_and_shown_unavailable(client, live_db):
    owner = make_user()
    auth = {"Authorization": f"Bearer {make_token(owner)}"}
    refused = client.post("/api/v1/projects", headers=auth, json={
        "title": "V", "script": SCRIPT, "voice": "silent", "stock_provider": "pixabay"})
    assert refused.status_code == 422
    detail = refused.get_json()["error"]["details"][0]
    assert detail["field"] == "stock_provider" and "PIXABAY_API_KEY" in detail["message"]
    login(client, owner)
    page = client.get("/projects").get_data(as_text=True)
    assert '<option value="pixabay" disabled>' in page
