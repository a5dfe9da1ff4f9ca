"""Media storage: one contract, run against both backends (local disk and a real S3, an
embedded SeaweedFS); the bounded cache; the file endpoints over both; the settings; and a
real render on S3, served with Range and through a presigned URL."""

from __future__ import annotations

import copy
import errno
import io
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.media import sample_files
from tests.s3 import STARTED, store_of
from tests.support import WorkerProcess, child_env, login, make_job, make_user, wait_for
from webapp.config import ConfigError, from_env, media_settings
from webapp.storage import MediaCache, MissingObject, StorageError, get_store, read_bytes
from webapp.storage import local as local_module
from webapp.storage.local import LocalStore
from webapp.video.ffmpeg import probe

BACKENDS = ["local", "s3"]
DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A store of each backend, empty, of its own (an S3 prefix of its own)."""
    if request.param == "local":
        yield LocalStore(tmp_path / "media")
        return
    store = copy.copy(store_of(request.getfixturevalue("s3_env")))  # one boto3 client
    store.prefix += f"contract-{uuid.uuid4().hex[:12]}/"
    yield store
    store.delete_prefix("")


def _keys(store, prefix: str = "") -> list[str]:
    return sorted(info.key for info in store.list(prefix))


# The contract -------------------------------------------------------------------------------


def test_put_stat_read_and_list(store, tmp_path):
    source = tmp_path / "clip.bin"
    source.write_bytes(DATA)
    store.put("p/1/video/h/clip.bin", source)
    store.put("p/1/video/h/note.txt", b"hello")
    store.put("p/10/video/h/other.txt", b"x")
    info = store.stat("p/1/video/h/clip.bin")
    assert (info.key, info.size) == ("p/1/video/h/clip.bin", len(DATA)) and info.etag
    assert info.modified.tzinfo is not None
    assert b"".join(store.read("p/1/video/h/clip.bin")) == DATA
    assert read_bytes(store, "p/1/video/h/note.txt") == b"hello"
    # Prefixes are plain string prefixes, as in S3: a folder's ends with a slash.
    assert _keys(store, "p/1/") == ["p/1/video/h/clip.bin", "p/1/video/h/note.txt"]
    assert _keys(store, "p/1") == [*_keys(store, "p/1/"), "p/10/video/h/other.txt"]
    assert [i.size for i in store.list("p/10/")] == [1]
    store.put("p/1/video/h/note.txt", b"replaced")
    assert read_bytes(store, "p/1/video/h/note.txt") == b"replaced"


def test_byte_ranges(store):
    store.put("r/data.bin", DATA)
    assert b"".join(store.read("r/data.bin", 10, 20)) == DATA[10:30]
    assert b"".join(store.read("r/data.bin", 10_000)) == DATA[10_000:]
    assert b"".join(store.read("r/data.bin", len(DATA) - 3, 3)) == DATA[-3:]
    assert b"".join(store.read("r/data.bin", 0, 1)) == DATA[:1]


def test_what_is_missing(store, tmp_path):
    assert store.stat("none/here.bin") is None
    with pytest.raises(MissingObject):
        store.read("none/here.bin")
    with pytest.raises(MissingObject):
        store.download("none/here.bin", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert read_bytes(store, "none/here.bin") is None
    assert _keys(store, "none/") == []
    assert store.delete_prefix("none/") == 0


def test_download_writes_a_local_copy(store, tmp_path):
    store.put("d/data.bin", DATA)
    store.download("d/data.bin", tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == DATA
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_delete_a_prefix(store):
    for key in ("projects/1/video/a/v.mp4", "projects/1/frames/b/s.png",
                "projects/10/video/c/v.mp4"):
        store.put(key, b"data")
    assert store.delete_prefix("projects/1/") == 2
    assert _keys(store) == ["projects/10/video/c/v.mp4"]
    assert store.stat("projects/1/video/a/v.mp4") is None


def _stage_folder(tmp_path: Path, name: str, marker: bytes = b'{"done": true}') -> Path:
    folder = tmp_path / name
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(DATA)
    (folder / "sub" / "b.txt").write_bytes(b"b")
    (folder / "manifest.json").write_bytes(marker)
    (folder / ".inputs-x").mkdir()  # a stage's fetched inputs: not part of its output
    (folder / ".inputs-x" / "narration.wav").write_bytes(b"in")
    return folder


def test_publish_stores_a_folder_and_keeps_the_first(store, tmp_path):
    first = _stage_folder(tmp_path, "first")
    assert store.publish("projects/3/video/h", first, "manifest.json") is True
    assert not first.exists()  # used up
    assert _keys(store, "projects/3/") == ["projects/3/video/h/a.bin",
                                           "projects/3/video/h/manifest.json",
                                           "projects/3/video/h/sub/b.txt"]
    # Another render built the same output meanwhile: the stored one stays.
    second = _stage_folder(tmp_path, "second", marker=b'{"second": true}')
    assert store.publish("projects/3/video/h", second, "manifest.json") is False
    assert not second.exists()
    assert read_bytes(store, "projects/3/video/h/manifest.json") == b'{"done": true}'


def test_an_interrupted_publish_is_never_visible(store, tmp_path, monkeypatch):
    """The manifest goes last: a publish that dies before it leaves no manifest, so the
    output is neither reused nor served (local disk: the same, file by file, when the
    folder cannot be renamed into place)."""
    real_put, real_replace = store.put, os.replace

    def put(key, source, content_type=None):
        if key.endswith("/manifest.json"):
            raise StorageError("the connection broke")
        real_put(key, source, content_type)

    def replace(src, dst):
        if Path(src).is_dir():
            raise OSError(errno.EXDEV, "another disk")
        real_replace(src, dst)

    monkeypatch.setattr(store, "put", put)
    monkeypatch.setattr(local_module.os, "replace", replace)
    with pytest.raises(StorageError):
        store.publish("projects/4/video/h", _stage_folder(tmp_path, "f"), "manifest.json")
    assert store.stat("projects/4/video/h/manifest.json") is None
    assert store.stat("projects/4/video/h/a.bin") is not None  # the others went first
    monkeypatch.undo()
    assert store.publish("projects/4/video/h", _stage_folder(tmp_path, "g"), "manifest.json")
    assert store.stat("projects/4/video/h/manifest.json") is not None


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "a/.tmp-x/b",
                                 "a\\b", "a/\x00b", ""])
def test_keys_cannot_leave_the_store(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.stat(key)


def test_presigned_urls(store):
    store.put("s/video.mp4", DATA)
    url = store.presign("s/video.mp4", 60, content_type="video/mp4",
                        disposition='attachment; filename="v.mp4"')
    if store.name == "local":
        assert url is None and store.local_path("s/video.mp4").read_bytes() == DATA
        return
    assert store.local_path("s/video.mp4") is None
    ranged = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == DATA[100:200]
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert ranged.headers["Content-Type"] == "video/mp4"
    assert ranged.headers["Content-Disposition"] == 'attachment; filename="v.mp4"'
    assert httpx.get(url).content == DATA
    short = store.presign("s/video.mp4", 1)
    time.sleep(2.1)
    assert httpx.get(short).status_code == 403  # expired
    assert httpx.get(url.replace("video.mp4", "other.mp4")).status_code == 403  # tampered


def test_an_unreachable_store_is_a_storage_error():
    from webapp.storage.s3 import S3Store

    dead = S3Store("bucket", endpoint_url="http://127.0.0.1:9", access_key_id="k",
                   secret_access_key="s")
    with pytest.raises(StorageError):
        dead.stat("a/b")


# The cache ----------------------------------------------------------------------------------


class Counting:
    """A store that counts its downloads."""

    def __init__(self, store):
        self.store, self.downloads = store, 0

    def download(self, key, path):
        self.downloads += 1
        self.store.download(key, path)


def test_the_cache_downloads_once_and_links(store, tmp_path):
    store.put("projects/1/narration/h/narration.wav", DATA)
    cache, counting = MediaCache(tmp_path / "cache", 1 << 20), Counting(store)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        cache.link(counting, "projects/1/narration/h/narration.wav", tmp_path / name / "n.wav")
        assert (tmp_path / name / "n.wav").read_bytes() == DATA
    assert counting.downloads == 1
    entry = cache.path("projects/1/narration/h/narration.wav")
    assert (tmp_path / "two" / "n.wav").stat().st_ino == entry.stat().st_ino


def test_the_cache_evicts_the_least_recently_used_by_bytes(store, tmp_path):
    for name in "abc":
        store.put(f"k/{name}.bin", bytes(100))
    cache = MediaCache(tmp_path / "cache", 250)
    for name in ("a", "b", "a", "c"):  # b is now the least recently used
        cache.link(store, f"k/{name}.bin", tmp_path / f"{name}-{time.monotonic_ns()}")
        time.sleep(0.03)  # file times are only as fine as the kernel's clock tick
    assert cache.evict() == 100
    assert sorted(p.name for p, _, _ in cache.entries()) == ["a.bin", "c.bin"]
    assert cache.evict() == 0


def test_eviction_never_takes_a_file_from_a_stage(store, tmp_path):
    store.put("k/in-use.bin", DATA)
    cache = MediaCache(tmp_path / "cache", 0)  # keep nothing beyond what stages hold
    cache.link(store, "k/in-use.bin", tmp_path / "in-use.bin")
    assert cache.evict() == len(DATA) and cache.entries() == []
    assert (tmp_path / "in-use.bin").read_bytes() == DATA


# Settings -----------------------------------------------------------------------------------

BASE = {"DATABASE_URL": "postgresql://u@h/d", "REDIS_URL": "redis://h", "CUTROOM_ENV": "testing"}


@pytest.mark.parametrize(("env", "variable"), [
    ({"MEDIA_STORAGE": "gcs"}, "MEDIA_STORAGE"),
    ({"MEDIA_STORAGE": "s3"}, "S3_BUCKET"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "Bad_Name"}, "S3_BUCKET"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "media", "S3_ENDPOINT_URL": "localhost:9000"},
     "S3_ENDPOINT_URL"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "media", "S3_REGION": "Mars 1"}, "S3_REGION"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "media", "S3_PREFIX": "a/../b"}, "S3_PREFIX"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "media", "S3_ACCESS_KEY_ID": "k"},
     "S3_SECRET_ACCESS_KEY"),
    ({"MEDIA_REDIRECT": "1"}, "MEDIA_REDIRECT"),
    ({"MEDIA_REDIRECT": "yes"}, "MEDIA_REDIRECT"),
    ({"MEDIA_REDIRECT_TTL": "0"}, "MEDIA_REDIRECT_TTL"),
    ({"MEDIA_REDIRECT_TTL": "999999999"}, "MEDIA_REDIRECT_TTL"),
    ({"MEDIA_CACHE_BYTES": "lots"}, "MEDIA_CACHE_BYTES"),
])
def test_bad_media_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        from_env({**BASE, **env})


def test_media_settings():
    local = from_env(BASE)
    assert (local["MEDIA_STORAGE"], local["MEDIA_REDIRECT"], local["MEDIA_CACHE_BYTES"]) == (
        "local", False, 2 << 30)
    assert local["MEDIA_CACHE_DIR"] == str(Path(local["MEDIA_ROOT"]) / "cache")
    s3 = from_env({**BASE, "MEDIA_STORAGE": "s3", "S3_BUCKET": "media", "S3_PREFIX": "/a/b/",
                   "AWS_REGION": "eu-west-3", "MEDIA_REDIRECT": "1", "MEDIA_CACHE_BYTES": "500M",
                   "S3_ENDPOINT_URL": "https://s3.example.test"})
    assert (s3["S3_PREFIX"], s3["S3_REGION"], s3["MEDIA_REDIRECT"], s3["MEDIA_REDIRECT_TTL"],
            s3["MEDIA_CACHE_BYTES"]) == ("a/b/", "eu-west-3", True, 300, 500 << 20)


# Serving, over both backends ----------------------------------------------------------------


def _use_s3(app, monkeypatch, s3_env, **extra: str) -> None:
    """Point the test app (the web side) at the S3 store."""
    for name, value in media_settings({**os.environ, **s3_env, **extra}).items():
        monkeypatch.setitem(app.config, name, value)


@pytest.fixture(params=BACKENDS)
def served(request, app, client, db_session, monkeypatch):
    """A finished job whose video is in the store of each backend, its owner signed in."""
    if request.param == "s3":
        _use_s3(app, monkeypatch, request.getfixturevalue("s3_env"))
    output, store = f"served/{uuid.uuid4().hex}", get_store()
    store.put(f"{output}/video.mp4", DATA)
    user = make_user()
    job = make_job(user, task="assemble-video", status="finished",
                   result={"output": output, "files": {"video": "video.mp4"}})
    login(client, user)
    yield f"/api/v1/jobs/{job.id}/files/video"
    store.delete_prefix(f"{output}/")


def _get(client, url, method="GET", **headers):
    with client.open(url, method=method, headers=headers) as response:
        return response.status_code, response.headers, response.get_data()


def test_files_are_served_whole_in_ranges_and_conditionally(client, served):
    status, headers, body = _get(client, served)
    assert (status, body) == (200, DATA)
    assert headers["Content-Type"] == "video/mp4" and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Length"] == str(len(DATA))
    assert headers["Content-Disposition"].startswith("inline; filename=")
    assert headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    etag = headers["ETag"]
    assert _get(client, served, Range="bytes=100-1099")[0::2] == (206, DATA[100:1100])
    status, headers, body = _get(client, served, Range="bytes=-10")
    assert (status, body, headers["Content-Range"]) == (206, DATA[-10:],
                                                         f"bytes 10230-10239/{len(DATA)}")
    status, headers, _ = _get(client, served, Range="bytes=99999-")
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(DATA)}")
    for ignored in ("bytes=0-1,5-6", "items=0-5", "bytes=abc"):
        assert _get(client, served, Range=ignored)[0::2] == (200, DATA), ignored
    assert _get(client, served, **{"If-None-Match": etag})[0] == 304
    assert _get(client, served, Range="bytes=0-9", **{"If-Range": '"stale"'})[0::2] == (200, DATA)
    assert _get(client, served, Range="bytes=0-9", **{"If-Range": etag})[0::2] == (206, DATA[:10])
    status, headers, body = _get(client, served, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(DATA)))
    _, headers, _ = _get(client, served + "?download=1")
    assert headers["Content-Disposition"].startswith("attachment; filename=")


def test_a_stranger_gets_404_and_a_missing_object_404(app, client, served):
    stranger = app.test_client()
    login(stranger, make_user())
    assert _get(stranger, served)[0] == 404
    get_store().delete_prefix("served/")
    assert _get(client, served)[0] == 404


def test_an_unreachable_store_answers_503(app, client, served, monkeypatch):
    _use_s3(app, monkeypatch, {"MEDIA_STORAGE": "s3", "S3_BUCKET": "media",
                               "S3_ENDPOINT_URL": "http://127.0.0.1:9",
                               "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s"})
    status, headers, body = _get(client, served)
    assert status == 503 and headers["Retry-After"].isdigit()
    assert b"storage_unavailable" in body


# A real render on S3 ------------------------------------------------------------------------

SCRIPT = [{"heading": "The moon", "narration": "The moon pulls the sea. Water bulges out."},
          {"heading": "The sun", "narration": "The sun helps a little. Spring tides are big."}]


def _render(client, project: dict) -> dict:
    response = client.post(project["links"]["render"])
    assert response.status_code == 202, response.get_data(as_text=True)
    pipeline = response.get_json()["pipeline_id"]

    def done():
        body = client.get(project["links"]["self"]).get_json()
        render = next(r for r in body["renders"] if r["pipeline_id"] == pipeline)
        return render["status"] in ("finished", "failed", "canceled", "stopped") and (body, render)

    body, render = wait_for(done, timeout=120, interval=0.25, message="the render to end")
    assert render["status"] == "finished", render
    return body, render


@pytest.mark.e2e
def test_a_render_on_s3_is_served_with_ranges_and_presigned_urls(
        app, client, live_db, redis, s3_env, monkeypatch, tmp_path, capsys):
    _use_s3(app, monkeypatch, s3_env)
    user = make_user()
    login(client, user)
    # The worker is another machine: its own disk for scratch folders and the cache.
    worker_root = tmp_path / "worker-media"
    worker = WorkerProcess(child_env(**s3_env, MEDIA_ROOT=str(worker_root))).wait_ready(redis)
    try:
        project = client.post("/api/v1/projects", json={
            "title": "Tides", "script": SCRIPT, "voice": "silent", "music_level": 25}).get_json()
        # Uploads go to S3 from the web side; the worker fetches them into its own cache.
        uploads = sample_files(tmp_path)
        for url, name in (("scenes/1/media", "photo.jpg"), ("scenes/2/media", "clip.mp4"),
                          ("music", "music.m4a")):
            sent = client.put(f"/api/v1/projects/{project['id']}/{url}",
                              content_type="multipart/form-data", data={"file": (
                                  io.BytesIO(uploads[name].read_bytes()), name)})
            assert sent.status_code == 201, sent.get_data(as_text=True)
        started = time.monotonic()
        body, render = _render(client, project)
        seconds = time.monotonic() - started
        store, prefix = get_store(), f"projects/{project['id']}/"
        keys = [info.key for info in store.list(prefix)]
        for kind in ("narration", "frames", "video"):
            assert sum(k.startswith(f"{prefix}{kind}/") and k.endswith("/manifest.json")
                       for k in keys) == 1, keys
        web_disk = Path(app.config["MEDIA_ROOT"]) / f"projects/{project['id']}"
        assert not list(web_disk.glob("*/*/*")), "files of this render on the web's disk"
        assert [p.name for p in worker_root.glob("projects/*/*/*")] == []  # no scratch left
        cached = sorted(p.name for p in (worker_root / "cache").rglob("*") if p.is_file())
        assert "narration.wav" in cached and "scene-002.png" in cached
        # The picture scene's 2x background, the clip and the music came from S3 too.
        assert {"scene-001.jpg", "clip.mp4", "music.m4a"} <= set(cached), cached
        assert sum(k.startswith(f"{prefix}media/") for k in keys) == 3

        url = body["video"]["files"]["video"]
        status, headers, whole = _get(client, url)
        assert status == 200 and whole[4:8] == b"ftyp"
        assert _get(client, url, Range="bytes=100-1099")[0::2] == (206, whole[100:1100])
        (tmp_path / "v.mp4").write_bytes(whole)
        info = probe(tmp_path / "v.mp4")
        assert abs(info.duration - render["stages"][0]["result"]["duration"]) < 0.1
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")

        monkeypatch.setitem(app.config, "MEDIA_REDIRECT", True)
        status, headers, _ = _get(client, url)
        assert status == 307 and headers["Cache-Control"] == "private, no-store"
        presigned = httpx.get(headers["Location"], headers={"Range": "bytes=0-99"})
        assert presigned.status_code == 206 and presigned.content == whole[:100]
        assert presigned.headers["Content-Type"] == "video/mp4"
        stranger = app.test_client()
        login(stranger, make_user())
        assert _get(stranger, url)[0] == 404  # the same checks before any redirect
        monkeypatch.setitem(app.config, "MEDIA_REDIRECT", False)

        # Without its manifest an output does not exist: it is built again, never reused.
        narration = render["stages"][0]["result"]["output"]
        store.delete_prefix(f"{narration}/manifest.json")
        _, again = _render(client, project)
        assert [s["result"]["reused"] for s in again["stages"]] == [False, True, True]
        assert store.stat(f"{narration}/manifest.json") is not None

        assert client.delete(project["links"]["self"]).status_code == 204
        assert list(store.list(prefix)) == []
    finally:
        worker.stop()
    with capsys.disabled():
        print(f"\nS3 render: {seconds:.1f} s (SeaweedFS started in "
              f"{STARTED.get('seaweedfs', 0):.1f} s)")
