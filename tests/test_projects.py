"""Projects in the API and the pages: validation, ownership, starting renders (no worker)."""

import pytest
from rq.job import Job, JobStatus

from tests.support import close_app, job_row, login, make_token, make_user
from webapp import create_app
from webapp.extensions import db
from webapp.models import BackgroundJob, Project

SCRIPT = [{"heading": "Why tides happen", "narration": "The moon pulls on the sea. It bulges."},
          {"heading": "Spring tides", "narration": "Sun and moon line up. Tides grow."}]


def _create(client, auth, **fields):
    body = {"title": "Tides", "script": SCRIPT, "voice": "silent", **fields}
    response = client.post("/api/v1/projects", json=body, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _fields(response, status=422):
    assert response.status_code == status, response.get_data(as_text=True)
    return {d["field"]: d["message"] for d in response.get_json()["error"]["details"]}


def test_create_read_update_a_project(client, auth):
    created = _create(client, auth, topic="The sea", music_level=20,
                      theme={"preset": "paper", "accent": "#FF0000"})
    assert created["script"] == SCRIPT
    assert (created["format"], created["voice"], created["burn_subtitles"]) == (
        "landscape-720", "silent", True)
    assert created["theme"]["preset"] == "paper" and created["theme"]["accent"] == "#ff0000"
    assert created["video"] is None and created["renders"] == []
    url = created["links"]["self"]
    changed = client.patch(url, json={"format": "portrait-1080", "topic": ""}, headers=auth)
    assert changed.status_code == 200
    body = client.get(url, headers=auth).get_json()
    assert (body["format"], body["topic"], body["script"]) == ("portrait-1080", None, SCRIPT)
    listing = client.get("/api/v1/projects", headers=auth).get_json()
    assert [p["id"] for p in listing["items"]] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"title": "x"}, "topic", "topic"),
        ({"topic": "x"}, "title", "title"),
        ({"title": "x", "script": []}, "script", "at least one scene"),
        ({"title": "x", "script": [{"heading": "h", "narration": "n"}] * 31}, "script",
         "at most 30 scenes"),
        ({"title": "x", "script": [{"heading": "h", "narration": "n" * 1201}]},
         "script.0.narration", "at most 1200"),
        ({"title": "x", "script": [{"heading": "h", "narration": "n" * 1000}] * 13}, "script",
         "in all"),
        ({"title": "x", "script": [{"heading": "", "narration": "n"}]}, "script.0.heading",
         "at least 1"),
        ({"title": "x", "topic": "t", "format": "8k"}, "format", "must be one of"),
        ({"title": "x", "topic": "t", "voice": "hal9000"}, "voice", "must be one of"),
        ({"title": "x", "topic": "t", "theme": {"background": "red"}}, "theme.background", "#"),
        ({"title": "x", "topic": "t", "theme": {"preset": "neon"}}, "theme.preset", "one of"),
        ({"title": "x", "topic": "t", "music_level": 101}, "music_level", "100"),
        ({"title": "x", "topic": "t", "narration_speed": 0.5}, "narration_speed", "0.75"),
        ({"title": "x", "topic": "t", "narration_speed": 2}, "narration_speed", "1.5"),
        ({"title": "x", "topic": "t", "narration_speed": "fast"}, "narration_speed",
         "number"),
        ({"title": "x", "topic": "t", "narration_speed": None}, "narration_speed", "null"),
        ({"title": "x", "topic": "t", "captions": {"style": "neon"}}, "captions.style",
         "plain, outline, box, highlight"),
        ({"title": "x", "topic": "t", "captions": {"position": "left"}}, "captions.position",
         "bottom, middle, top"),
        ({"title": "x", "topic": "t", "captions": {"font": "x"}}, "captions.font", "Unknown"),
        ({"title": "x", "topic": "t", "colour": "blue"}, "colour", "Unknown"),
    ],
)
def test_bad_project_input_is_422_naming_the_field(client, auth, user, body, field, words):
    fields = _fields(client.post("/api/v1/projects", json=body, headers=auth))
    assert field in fields, fields
    assert words.lower() in fields[field].lower()
    assert Project.query.filter_by(user_id=user.id).count() == 0


def test_narration_speed_is_saved_rounded_and_shown(client, auth):
    created = _create(client, auth)
    assert created["narration_speed"] == 1.0
    url = created["links"]["self"]
    changed = client.patch(url, json={"narration_speed": 1.2549}, headers=auth)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert client.get(url, headers=auth).get_json()["narration_speed"] == 1.25


def test_captions_are_saved_with_defaults_for_what_is_not_sent(client, auth):
    created = _create(client, auth)
    assert created["captions"] == {"style": "outline", "position": "bottom", "size": "medium"}
    url = created["links"]["self"]
    changed = client.patch(url, json={"captions": {"style": "highlight", "position": "top"}},
                           headers=auth)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert client.get(url, headers=auth).get_json()["captions"] == {
        "style": "highlight", "position": "top", "size": "medium"}


def test_patch_cannot_null_required_fields_or_leave_nothing_to_render(client, auth):
    url = _create(client, auth)["links"]["self"]
    assert "title" in _fields(client.patch(url, json={"title": None}, headers=auth))
    assert "topic" in _fields(client.patch(url, json={"script": None}, headers=auth))
    assert client.get(url, headers=auth).get_json()["script"] == SCRIPT


def test_other_users_projects_are_404_and_admins_see_them(client, auth):
    theirs = _create(client, {"Authorization": f"Bearer {make_token(make_user())}"})
    url = f"/api/v1/projects/{theirs['id']}"
    assert client.get(url, headers=auth).status_code == 404
    assert client.patch(url, json={"title": "mine"}, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404
    assert client.post(f"{url}/render", headers=auth).status_code == 404
    assert client.get("/api/v1/projects", headers=auth).get_json()["total"] == 0
    admin = {"Authorization": f"Bearer {make_token(make_user(admin=True))}"}
    assert client.get(url, headers=admin).status_code == 200


def test_render_creates_chained_stage_jobs(client, auth, redis):
    project = _create(client, auth)
    response = client.post(project["links"]["render"], headers=auth)
    assert response.status_code == 202
    render = response.get_json()
    stages = render["stages"]
    assert [s["task"] for s in stages] == ["narrate", "render-scenes", "assemble-video"]
    assert [s["status"] for s in stages] == ["queued", "deferred", "deferred"]
    assert render["status"] == "queued"
    rq_jobs = [Job.fetch(s["id"], connection=redis) for s in stages]
    assert rq_jobs[0].get_status() == JobStatus.QUEUED
    assert rq_jobs[1].dependency_ids and rq_jobs[2].get_status() == JobStatus.DEFERRED
    again = client.post(project["links"]["render"], headers=auth)
    assert again.status_code == 409
    detail = client.get(project["links"]["self"], headers=auth).get_json()
    assert detail["renders"][0]["pipeline_id"] == render["pipeline_id"]


def test_a_topic_only_project_writes_its_script_first(client, auth):
    project = _create(client, auth, script=None, topic="Volcanoes")
    stages = client.post(project["links"]["render"], headers=auth).get_json()["stages"]
    assert [s["task"] for s in stages] == ["write-script", "narrate", "render-scenes",
                                           "assemble-video"]


def test_canceling_a_stage_cancels_the_later_ones_naming_it(client, auth, redis):
    project = _create(client, auth)
    stages = client.post(project["links"]["render"], headers=auth).get_json()["stages"]
    assert client.post(f"/api/v1/jobs/{stages[0]['id']}/cancel", headers=auth).status_code == 200
    for stage in stages[1:]:
        row = job_row(stage["id"])
        assert row.status == "canceled"
        assert row.error == "Canceled: the Narrate stage was canceled."
        assert Job.fetch(stage["id"], connection=redis).get_status() == JobStatus.CANCELED
    render = client.get(project["links"]["self"], headers=auth).get_json()["renders"][0]
    assert render["status"] == "canceled"


def test_stages_cannot_be_started_directly(client, auth):
    response = client.post("/api/v1/tasks/narrate", json={"project_id": 1}, headers=auth)
    assert response.status_code == 404
    assert "render" in response.get_json()["error"]["message"]
    names = [t["name"] for t in client.get("/api/v1/tasks", headers=auth).get_json()["items"]]
    assert "narrate" not in names


def test_render_with_redis_down_is_503_and_leaves_nothing_waiting(db_session, user, auth):
    project = Project(user_id=user.id, title="T", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    broken = create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        response = broken.test_client().post(f"/api/v1/projects/{project.id}/render",
                                             headers=auth)
    finally:
        close_app(broken)
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    # The submission limits live in Redis too: nothing was written at all.
    assert BackgroundJob.query.filter_by(project_id=project.id).count() == 0


def test_delete_removes_the_project_its_jobs_and_files(client, auth, app):
    from webapp.render import storage
    from webapp.storage import get_store

    project = _create(client, auth)
    stages = client.post(project["links"]["render"], headers=auth).get_json()["stages"]
    prefix = storage.project_prefix(project["id"])
    get_store().put(f"{prefix}video/h/x.mp4", b"data")
    assert client.delete(project["links"]["self"], headers=auth).status_code == 204
    assert list(get_store().list(prefix)) == []
    assert not storage.project_dir(project["id"]).exists()
    assert client.get(project["links"]["self"], headers=auth).status_code == 404
    assert BackgroundJob.query.filter(
        BackgroundJob.id.in_([s["id"] for s in stages])).count() == 0


def test_project_pages_create_edit_and_render(client, user):
    login(client, user)
    assert "New project" in client.get("/projects").get_data(as_text=True)
    response = client.post("/projects", data={
        "title": "Comets", "voice": "silent", "format": "square-1080", "theme_preset": "sunset",
        "burn_subtitles": "on", "script_text": "Ice\nComets are dirty snowballs.\n\nTails\n"
                                               "Tails point away from the sun."})
    assert response.status_code == 303
    project = Project.query.filter_by(user_id=user.id).one()
    assert project.script == [
        {"heading": "Ice", "narration": "Comets are dirty snowballs."},
        {"heading": "Tails", "narration": "Tails point away from the sun."}]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="scene-1-heading" value="Tails"' in page and "Render video" in page
    edit = client.post(f"/projects/{project.id}", data={
        "part": "script", "scene-0-heading": "Ice", "scene-0-narration": "Frozen.",
        "scene-1-heading": "Tails", "scene-1-narration": "Gone.", "scene-1-remove": "on",
        "scene-2-heading": "Orbits", "scene-2-narration": "Long and elliptic."})
    assert edit.status_code == 303
    db.session.refresh(project)
    assert [s["heading"] for s in project.script] == ["Ice", "Orbits"]
    rendered = client.post(f"/projects/{project.id}/render")
    assert rendered.status_code == 303
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f'name="p" value="{project.id}~' in page and 'hx-trigger="every 2s"' in page
    assert "Narrate" in page and "Assemble video" in page
    fragment = client.get(f"/projects/{project.id}?block=output", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="output"')


def test_project_form_errors_are_shown_next_to_the_field(client, user):
    login(client, user)
    response = client.post("/projects", data={"title": "", "topic": "", "voice": "silent"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A project needs a title." in html and "Give a topic, or a script." in html
    project = Project(user_id=user.id, title="T", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    bad = client.post(f"/projects/{project.id}", data={
        "part": "script", "scene-0-heading": "Only a heading", "scene-0-narration": ""})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'value="Only a heading"' in html and "at least 1 character" in html


def test_other_users_project_pages_are_404(client, user):
    other = make_user()
    project = Project(user_id=other.id, title="Secret", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    login(client, user)
    assert client.get(f"/projects/{project.id}").status_code == 404
    assert client.post(f"/projects/{project.id}", data={"title": "x"}).status_code == 404
    assert client.post(f"/projects/{project.id}/render").status_code == 404
    assert client.post(f"/projects/{project.id}/delete").status_code == 404
    assert "Secret" not in client.get("/projects").get_data(as_text=True)


def test_a_render_stage_is_not_retried_on_its_own(client, auth):
    project = _create(client, auth)
    stages = client.post(project["links"]["render"], headers=auth).get_json()["stages"]
    client.post(f"/api/v1/jobs/{stages[0]['id']}/cancel", headers=auth)
    response = client.post(f"/api/v1/jobs/{stages[0]['id']}/retry", headers=auth)
    assert response.status_code == 409
    assert "render the project again" in response.get_json()["error"]["message"]


def test_project_ids_past_postgresql_integers_are_404(client, auth):
    """Found by fuzzing: the id reached PostgreSQL as an out-of-range integer (a 500)."""
    url = "/api/v1/projects/2147483648"
    assert client.get(url, headers=auth).status_code == 404
    assert client.patch(url, json={"title": "x"}, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404
    assert client.post(f"{url}/render", headers=auth).status_code == 404


def test_text_postgresql_cannot_store_is_422_naming_the_field(client, auth, user):
    """Found by fuzzing: a NUL in a scene reached the JSONB insert (a 500)."""
    body = {"title": "Tides", "script": [{"heading": "h", "narration": "a\u0000b"}]}
    fields = _fields(client.post("/api/v1/projects", json=body, headers=auth))
    assert fields == {"script.0.narration":
                      "Must not contain NUL characters or unpaired surrogates."}
    assert Project.query.filter_by(user_id=user.id).count() == 0


def test_the_project_list_pages_through_every_project(client, auth, user):
    from tests.support import login

    for n in range(25):
        _create(client, auth, title=f"Project {n:02}")
    login(client, user)
    first = client.get("/projects").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Project 24" in first and "Project 00" not in first
    second = client.get("/projects?page=2").get_data(as_text=True)
    assert "Project 00" in second and "Page 2 of 2" in second


def _project_row(user, title="Tides") -> Project:
    project = Project(user_id=user.id, title=title, script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    return project


STAGE_RESULTS = {
    "narrate": {"duration": 4.25, "output": "n", "reused": False, "scenes": 2},
    "render-scenes": {"frames": 2, "width": 1280, "height": 720, "output": "f", "reused": False},
    "assemble-video": {"duration": 4.25, "size": 2097152, "width": 1280, "height": 720,
                       "output": "v", "reused": False,
                       "files": {"video": "video.mp4", "thumbnail": "thumbnail.png"}},
}
PROGRESS = {"narrate": "Scene 2 of 2: sentence 4 of 4", "render-scenes": "Scene 1 of 2",
            "assemble-video": "Encoding"}


def _run_stage(job: BackgroundJob) -> None:
    """What a worker records for a stage that reports progress and then finishes."""
    from webapp.jobs import transitions

    assert transitions.mark_started(job.id, "test-worker")
    assert transitions.record_progress(job.id, 60, PROGRESS[job.task])
    assert transitions.mark_finished(job.id, STAGE_RESULTS[job.task])
    db.session.commit()


def test_no_banner_outlives_a_render_and_its_block_says_where_it_is(client, user):
    login(client, user)
    project = _project_row(user)
    assert client.post(f"/projects/{project.id}/render").status_code == 303
    narrate, frames, assemble = BackgroundJob.query.filter_by(project_id=project.id).order_by(
        BackgroundJob.pipeline_step).all()
    output = f"/projects/{project.id}?block=output"
    waiting = client.get(output, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'name="p" value="{project.id}~' in waiting and "Waiting for a worker." in waiting
    _run_stage(narrate)
    running = client.get(output, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Rendering: Render scenes, stage 2 of 3." in running
    _run_stage(frames)
    _run_stage(assemble)  # the render ended before the page came back (all stages reused)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Rendering started" not in page and "Rendering:" not in page
    assert "hx-trigger" not in page and "live-state" not in page and "Render video" in page
    for stage_text in PROGRESS.values():
        assert stage_text not in page
    assert "Done in" in page and "4.2 s of narration" in page and "2 stills at 1280×720" in page


def _stages(user, project, statuses, **last) -> list[BackgroundJob]:
    import uuid

    pipeline = uuid.uuid4()
    jobs = []
    for step, (task, status) in enumerate(zip(("narrate", "render-scenes", "assemble-video"),
                                              statuses, strict=True)):
        fields = dict(last) if step == len(statuses) - 1 or status in ("failed", "stopped") else {}
        if status == "finished":
            fields["result"] = STAGE_RESULTS[task]
        job = BackgroundJob(task=task, queue="video", params={"project_id": project.id},
                            user_id=user.id, project_id=project.id, pipeline_id=pipeline,
                            pipeline_step=step, status=status, **fields)
        db.session.add(job)
        jobs.append(job)
    db.session.commit()
    return jobs


def _tile(page: str, title: str) -> str:
    start = page.index(f"<strong>{title}</strong>")
    return page[page.rindex('<a class="project-tile', 0, start):page.index("</a>", start)]


def test_project_tiles_tell_each_render_state_apart(client, user):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    never = _project_row(user, "Never")
    rendering = _project_row(user, "Busy")
    _stages(user, rendering, ["finished", "started", "deferred"])
    failed = _project_row(user, "Broken")
    _stages(user, failed, ["failed", "canceled", "canceled"],
            error="StageError: The voice is not installed.", error_code="exception")
    done = _project_row(user, "Done")
    _, _, video = _stages(user, done, ["finished"] * 3)
    stopped = _project_row(user, "Halted")
    _stages(user, stopped, ["stopped", "canceled", "canceled"], cancel_requested_at=now,
            error="Stopped on request while running.")
    login(client, user)
    page = client.get("/projects").get_data(as_text=True)
    assert "Never rendered" in _tile(page, never.title)
    assert "last render" not in _tile(page, never.title)
    busy = _tile(page, rendering.title)
    assert ">Rendering</span>" in busy and "Rendering: Render scenes, stage 2 of 3." in busy
    broken = _tile(page, failed.title)
    assert ">Render failed</span>" in broken
    assert '<span class="error">The Narrate stage failed: The voice is not installed.' in broken
    assert "StageError" not in broken
    finished = _tile(page, done.title)
    assert f'<img src="/jobs/{video.id}/files/thumbnail"' in finished
    assert "badge" not in finished and "last render <time" in finished
    halted = _tile(page, stopped.title)
    assert ">Render stopped</span>" in halted and "class=\"error\"" not in halted
    assert "The render was stopped on request during the Narrate stage." in halted
    # ...and on its page the stop reads as a note, not as an error.
    output = client.get(f"/projects/{stopped.id}").get_data(as_text=True)
    output = output[output.index('<section id="output"'):output.index('<div class="split">')]
    assert ('<p class="muted">The render was stopped on request during the Narrate stage.</p>'
            in output)
    assert 'class="error"' not in output and "Stopped on request." in output
