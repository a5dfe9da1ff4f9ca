"""Uploading a scene's picture or clip and a project's music, through the API and the page:
real files, the real media store; a file that may not be kept is a 422 naming `file`, and
nothing of it is stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests.media import bomb_png, sample_files
from tests.support import csrf_token, login, make_token, make_user, secure_login
from webapp.extensions import db
from webapp.models import MediaFile, Project
from webapp.storage import get_store

SCRIPT = [{"heading": "The hive", "narration": "Bees live together in a hive."},
          {"heading": "Nectar", "narration": "They carry nectar home from flowers."}]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_files(tmp_path_factory.mktemp("uploads"))


@pytest.fixture
def project(client, auth) -> dict:
    response = client.post("/api/v1/projects", json={"title": "Bees", "script": SCRIPT,
                                                     "voice": "silent"}, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _put(client, auth, url: str, path: Path | None, name: str | None = None, data=None):
    body = {} if path is None else {"file": (io.BytesIO(data if data is not None
                                                        else path.read_bytes()),
                                             name or path.name)}
    return client.put(url, data=body, headers=auth, content_type="multipart/form-data")


def _scene_url(project: dict, number: int) -> str:
    return f"/api/v1/projects/{project['id']}/scenes/{number}/media"


def _stored(project_id: int) -> list[str]:
    return [info.key for info in get_store().list(f"projects/{project_id}/media/")]


def _rows(project_id: int) -> list[MediaFile]:
    return list(db.session.scalars(select(MediaFile).where(MediaFile.project_id == project_id)))


def test_a_picture_a_clip_and_music_are_kept_and_served(client, auth, project, files):
    picture = _put(client, auth, _scene_url(project, 1), files["photo.jpg"], "Beach day.JPG")
    assert picture.status_code == 201, picture.get_data(as_text=True)
    kept = picture.get_json()
    assert (kept["kind"], kept["name"], kept["width"], kept["height"], kept["scenes"]) == (
        "image", "Beach day.JPG", 640, 360, [1])
    clip = _put(client, auth, _scene_url(project, 2), files["clip.mp4"]).get_json()
    assert clip["kind"] == "clip" and clip["duration"] == pytest.approx(2, abs=0.1)
    music = _put(client, auth, f"/api/v1/projects/{project['id']}/music", files["music.m4a"])
    assert music.status_code == 201 and music.get_json()["kind"] == "music"
    body = client.get(project["links"]["self"], headers=auth).get_json()
    assert [scene.get("media") for scene in body["script"]] == [kept["id"], clip["id"]]
    assert body["music_level"] == 40  # a track on a project whose music was off is heard
    listing = client.get(f"/api/v1/projects/{project['id']}/media", headers=auth).get_json()
    assert sorted(m["kind"] for m in listing["items"]) == ["clip", "image", "music"]
    served = client.get(kept["url"], headers=auth)
    assert served.status_code == 200 and served.content_type == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (640, 360)
    part = client.get(clip["url"], headers={**auth, "Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100
    assert len(_stored(project["id"])) == 3


def test_replacing_and_removing_delete_the_old_files(client, auth, project, files):
    first = _put(client, auth, _scene_url(project, 1), files["photo.png"]).get_json()
    second = _put(client, auth, _scene_url(project, 1), files["photo.jpg"]).get_json()
    assert [m.id for m in _rows(project["id"])] == [second["id"]]
    assert _stored(project["id"]) == [_rows(project["id"])[0].key]
    assert client.get(first["url"], headers=auth).status_code == 404
    assert client.delete(_scene_url(project, 1), headers=auth).status_code == 204
    assert _rows(project["id"]) == [] and _stored(project["id"]) == []
    assert client.delete(_scene_url(project, 1), headers=auth).status_code == 404


def test_a_scene_keeps_its_media_when_scenes_before_it_go(client, auth, project, files):
    clip = _put(client, auth, _scene_url(project, 2), files["clip.mp4"]).get_json()
    _put(client, auth, _scene_url(project, 1), files["photo.png"])
    # Scene 1 is removed; what was scene 2 keeps its clip, and scene 1's picture goes.
    changed = client.patch(project["links"]["self"], headers=auth, json={"script": [
        {"heading": "Nectar", "narration": "They carry nectar.", "media": clip["id"]}]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["script"][0]["media"] == clip["id"]
    assert [m.id for m in _rows(project["id"])] == [clip["id"]]
    assert len(_stored(project["id"])) == 1


def test_a_script_may_only_name_the_projects_own_media(client, auth, project, files):
    other = client.post("/api/v1/projects", headers=auth, json={
        "title": "Other", "script": SCRIPT, "voice": "silent"}).get_json()
    theirs = _put(client, auth, _scene_url(other, 1), files["photo.png"]).get_json()
    music = _put(client, auth, f"/api/v1/projects/{project['id']}/music",
                 files["music.wav"]).get_json()
    for media_id in (theirs["id"], music["id"], 999_999):
        response = client.patch(project["links"]["self"], headers=auth, json={"script": [
            {"heading": "x", "narration": "y", "media": media_id}]})
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["field"] == "script.0.media"
    created = client.post("/api/v1/projects", headers=auth, json={
        "title": "New", "voice": "silent",
        "script": [{"heading": "x", "narration": "y", "media": theirs["id"]}]})
    assert created.status_code == 422


HOSTILE = [
    ("wrong extension", "photo.png", "photo.jpg", None, "named .jpg but is a PNG"),
    ("truncated", "photo.png", "cut.png", lambda d: d[: len(d) // 2], "cannot be read"),
    ("polyglot", "photo.png", "mixed.png", lambda d: d + b"<script>alert(1)</script>",
     "polyglot"),
    ("clip without video", "audio-only.mp4", "song.mp4", None, "no picture"),
    ("not media", "photo.png", "page.png", lambda d: b"<html><body>hi</body></html>",
     "not a format"),
    ("music to a scene", "music.wav", "music.wav", None, "not a picture or video clip"),
]


@pytest.mark.parametrize(("source", "name", "change", "words"),
                         [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_files_are_refused_and_nothing_is_stored(client, auth, project, files,
                                                         source, name, change, words):
    data = files[source].read_bytes()
    response = _put(client, auth, _scene_url(project, 1), files[source], name,
                    change(data) if change else data)
    assert response.status_code == 422, response.get_data(as_text=True)
    detail = response.get_json()["error"]["details"][0]
    assert detail["field"] == "file" and words.lower() in detail["message"].lower()
    assert _rows(project["id"]) == [] and _stored(project["id"]) == []
    assert "media" not in client.get(project["links"]["self"],
                                     headers=auth).get_json()["script"][0]


def test_a_decompression_bomb_is_refused(client, auth, project, tmp_path):
    bomb = bomb_png(tmp_path / "bomb.png", 30_000)
    response = _put(client, auth, _scene_url(project, 1), bomb)
    assert response.status_code == 422
    assert "decompression bomb" in response.get_json()["error"]["details"][0]["message"]
    assert _rows(project["id"]) == [] and _stored(project["id"]) == []


def test_music_must_be_sound(client, auth, project, files):
    response = _put(client, auth, f"/api/v1/projects/{project['id']}/music", files["clip.mp4"])
    assert response.status_code == 422
    assert "not a music track" in response.get_json()["error"]["details"][0]["message"]


def test_files_over_the_limits(app, client, auth, project, files, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_IMAGE_BYTES", 1000)
    response = _put(client, auth, _scene_url(project, 1), files["photo.png"])
    assert response.status_code == 422  # under the clip limit: inspected, and refused
    assert "may be at most" in response.get_json()["error"]["details"][0]["message"]
    monkeypatch.setitem(app.config, "MEDIA_CLIP_BYTES", 1000)
    big = _put(client, auth, _scene_url(project, 1), files["photo.png"],
               data=b"\0" * 200_000)
    assert big.status_code == 413  # larger than any file the route takes: not even read
    assert big.get_json()["error"]["details"][0]["field"] == "file"
    assert _rows(project["id"]) == [] and _stored(project["id"]) == []


def test_uploads_count_against_the_users_room(app, client, auth, project, files, monkeypatch):
    size = files["photo.jpg"].stat().st_size
    monkeypatch.setitem(app.config, "MEDIA_USER_BYTES", size * 3 // 2)
    assert _put(client, auth, _scene_url(project, 1), files["photo.png"]).status_code == 201
    refused = _put(client, auth, _scene_url(project, 2), files["clip.mp4"])
    assert refused.status_code == 429 and "remove some" in refused.get_data(as_text=True)
    assert len(_rows(project["id"])) == 1


def test_no_file_or_no_such_scene(client, auth, project, files):
    missing = _put(client, auth, _scene_url(project, 1), None)
    assert missing.status_code == 422
    assert missing.get_json()["error"]["details"][0]["field"] == "file"
    beyond = _put(client, auth, _scene_url(project, 3), files["photo.png"])
    assert beyond.status_code == 422
    assert beyond.get_json()["error"]["details"][0]["field"] == "scene"


def test_deleting_the_project_deletes_its_media(client, auth, project, files):
    _put(client, auth, _scene_url(project, 1), files["photo.png"])
    assert client.delete(project["links"]["self"], headers=auth).status_code == 204
    assert _stored(project["id"]) == []


def test_the_page_uploads_without_javascript(app, client, user, project, files):
    login(client, user)
    page = f"/projects/{project['id']}"
    html = client.get(page).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'form="media-1"' in html
    sent = client.post(f"{page}/scenes/1/media", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(files["photo.png"].read_bytes()), "sun.png")})
    assert sent.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "sun.png" in html and "Remove the picture" in html
    bad = client.post(f"{page}/music", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(files["photo.png"].read_bytes()), "song.mp3")})
    assert bad.status_code == 422
    assert 'id="music-file-error"' in bad.get_data(as_text=True)
    song = client.post(f"{page}/music", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(files["music.wav"].read_bytes()), "song.wav")})
    assert song.status_code == 303 and "song.wav" in client.get(page).get_data(as_text=True)
    # The script editor carries the scene's picture through a save.
    media_id = db.session.get(Project, project["id"]).script[0]["media"]
    saved = client.post(page, data={"part": "script", "scene-0-heading": "The hive",
                                    "scene-0-narration": "Bees.", "scene-0-media": media_id,
                                    "scene-1-heading": "Nectar", "scene-1-narration": "Home."})
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Project, project["id"]).script[0]["media"] == media_id
    assert client.post(f"{page}/scenes/1/media/delete").status_code == 303
    assert client.post(f"{page}/music/delete").status_code == 303
    assert _rows(project["id"]) == []


def test_another_user_cannot_see_or_change_them(client, auth, project, files):
    kept = _put(client, auth, _scene_url(project, 1), files["photo.png"]).get_json()
    stranger = {"Authorization": f"Bearer {make_token(make_user())}"}
    assert client.get(kept["url"], headers=stranger).status_code == 404
    assert _put(client, stranger, _scene_url(project, 1), files["photo.jpg"]).status_code == 404
    assert client.delete(_scene_url(project, 1), headers=stranger).status_code == 404


def test_a_page_upload_needs_its_csrf_token(secure_app, user, project, files):
    client = secure_app.test_client()
    secure_login(client, user)
    page = f"/projects/{project['id']}"
    upload = {"file": (io.BytesIO(files["photo.png"].read_bytes()), "sun.png")}
    refused = client.post(f"{page}/scenes/1/media", content_type="multipart/form-data",
                          data=dict(upload))
    assert refused.status_code == 400
    token = csrf_token(client, page)
    upload = {"file": (io.BytesIO(files["photo.png"].read_bytes()), "sun.png"),
              "csrf_token": token}
    sent = client.post(f"{page}/scenes/1/media", content_type="multipart/form-data",
                       data=upload)
    assert sent.status_code == 303, sent.get_data(as_text=True)


def test_uploads_are_rate_limited_per_user(app, client, auth, project, files, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_UPLOAD_RATE", "2 per minute")
    for _ in range(2):
        assert _put(client, auth, _scene_url(project, 1), files["photo.png"]).status_code == 201
    refused = _put(client, auth, _scene_url(project, 2), files["photo.png"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "uploading too fast" in refused.get_json()["error"]["message"]
