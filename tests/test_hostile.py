"""Hostile strings in every text field: never a 5xx, always escaped in pages, harmless in files.

Each string goes into every field a user can fill (task parameters, project title, topic,
outline, scene heading and narration, API token names, sign-in email, query arguments,
redirect targets) through the API and the forms.
"""

import re
from pathlib import Path

import pytest
from markupsafe import escape

from tests.support import login, make_token, make_user
from webapp.models import BackgroundJob, Project

HOSTILE = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }} {% print 1 %}",
    "'; DROP TABLE users; --",
    "NUL\x00byte",
    "\x1b[31mred\x1b[0m\x07\x08",
    "{\\fs200}big \\N not a line",
    "[0:v]drawtext=text='pwn':fontfile=/etc/passwd,subtitles=/etc/passwd;[a]",
    "../../../../etc/passwd",
    "..\\..\\windows\\system32",
    "\u202eevil\u202c 💥 émoji",
    "x" * 20_000,
]
IDS = ["script", "attribute", "template", "sql", "nul", "control", "libass", "ffmpeg",
       "traversal", "backslash", "unicode", "long"]


@pytest.fixture
def owner(db_session):
    return make_user()


@pytest.fixture
def api(client, owner):
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(owner)}"
    return client


def _safe(status: int) -> bool:
    return status < 500


def _assert_escaped(html: str, text: str, shown: bool = False) -> None:
    """No raw markup from `text` reaches the page; where the page shows `text`, it shows
    it escaped and literally (template syntax is not evaluated)."""
    assert "<script>alert" not in html and "<img src=x" not in html
    if shown:
        assert str(escape(text[:60].strip())) in html


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_task_parameters(api, owner, text):
    response = api.post("/api/v1/tasks/trigger-test", json={"message": text})
    assert response.status_code in (202, 422), response.get_data(as_text=True)[:300]
    if response.status_code == 422:
        assert response.get_json()["error"]["details"][0]["field"] == "message"
        return
    job_id = response.get_json()["id"]
    assert api.get(f"/api/v1/jobs/{job_id}").get_json()["params"]["message"] == text
    login(api, owner)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/card", "/"):
        page = api.get(path)
        assert page.status_code == 200
        _assert_escaped(page.get_data(as_text=True), text, shown=path == f"/jobs/{job_id}")


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_project_fields(api, owner, text):
    body = {"title": text[:200], "topic": text[:2000], "outline": text[:4000], "voice": "silent",
            "script": [{"heading": text[:120], "narration": text[:1200]}]}
    response = api.post("/api/v1/projects", json=body)
    assert response.status_code in (201, 422), response.get_data(as_text=True)[:300]
    if response.status_code == 422:
        fields = {d["field"] for d in response.get_json()["error"]["details"]}
        assert fields and fields <= {"title", "topic", "outline", "script.0.heading",
                                     "script.0.narration"}
        assert Project.query.filter_by(user_id=owner.id).count() == 0
        return
    project = response.get_json()
    assert project["script"][0]["narration"] == text[:1200].strip()
    login(api, owner)
    for path in (f"/projects/{project['id']}", "/projects"):
        page = api.get(path)
        assert page.status_code == 200
        _assert_escaped(page.get_data(as_text=True), text, shown=True)


@pytest.mark.parametrize("text", HOSTILE, ids=IDS)
def test_forms_and_query_arguments(client, owner, text):
    bad_login = client.post("/login", data={"email": text, "password": text, "next": text})
    assert bad_login.status_code == 401
    _assert_escaped(bad_login.get_data(as_text=True), text)
    login(client, owner)
    for response in (
        client.post("/jobs", data={"task": "trigger-test", "message": text}),
        client.post("/jobs", data={"task": text}),
        client.post("/projects", data={"title": text[:200], "topic": text, "voice": "silent"}),
        client.post("/settings/tokens", data={"name": text}),
        client.get("/", query_string={"page": text}),
        client.get("/api/v1/jobs", query_string={"task": text, "status": text[:50]}),
        client.get("/login", query_string={"next": text}),
    ):
        assert _safe(response.status_code), (response.status_code, response.request.path)
        if response.mimetype == "text/html":
            _assert_escaped(response.get_data(as_text=True), text)
    done = client.post("/jobs", data={"task": "countdown", "steps": "1", "next": text})
    assert done.status_code in (303, 422)


def test_redirect_targets_never_leave_the_site(client, owner):
    login(client, owner)
    job = BackgroundJob(task="countdown", queue="default", params={}, user_id=owner.id,
                        status="queued")
    from webapp.extensions import db

    db.session.add(job)
    db.session.commit()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example",
                   "javascript:alert(1)", "/\x00/x"):
        response = client.post(f"/jobs/{job.id}/cancel", data={"next": target})
        assert response.status_code in (303, 409)
        assert response.headers["Location"].startswith("/jobs/"), target


@pytest.mark.e2e
def test_a_hostile_script_renders_harmlessly(client, live_db, app, redis):
    from tests.media import parse_vtt
    from tests.support import WorkerProcess, child_env, wait_for
    from webapp.storage import get_store

    media = Path(app.config["MEDIA_ROOT"]).resolve()

    def written() -> tuple[set[str], set[Path]]:
        """What is in the store, and on this disk (other tests may have left some)."""
        return ({info.key for info in get_store().list("")},
                {p for p in media.rglob("*") if p.is_file()})

    stored_before, files_before = written()
    user = make_user()
    login(client, user)
    title = "../../../tmp/pwn [0:v]null[x];{\\fs200}<b>"
    script = [{"heading": "../../etc/passwd\\N{\\fs300}",
               "narration": "Say [0:v]drawtext=text='x',subtitles=/etc/passwd; and {\\pos(0,0)}. "
                            "<script>alert(1)</script>."},
              {"heading": "Quotes ' \" : , ; [ ]", "narration": "Colons: a:b, commas, quotes'."}]
    project = client.post("/api/v1/projects", json={"title": title, "script": script,
                                                     "voice": "silent", "music_level": 10})
    assert project.status_code == 201
    url = project.get_json()["links"]["self"]
    worker = WorkerProcess(child_env()).wait_ready(redis)
    try:
        client.post(project.get_json()["links"]["render"])
        body = wait_for(lambda: (b := client.get(url).get_json())["video"] and b, timeout=90,
                        message="the hostile render to finish")
    finally:
        worker.stop()
    with client.get(body["video"]["files"]["vtt"]) as response:
        cues = parse_vtt(response.get_data(as_text=True))
    assert cues[0].text == "Say [0:v]drawtext=text='x',subtitles=/etc/passwd; and {\\pos(0,0)}."
    stored, files = written()
    assert stored - stored_before
    assert all(key.startswith("projects/") for key in stored - stored_before)
    assert all(p.is_relative_to(media / "projects") or p.is_relative_to(media / "cache/projects")
               for p in files - files_before)
    assert not Path("/tmp/pwn").exists()
    page = client.get(body["links"]["page"]).get_data(as_text=True)
    assert "<b>" not in re.sub(r"<b>Subtitles</b>", "", page) or "&lt;b&gt;" in page
