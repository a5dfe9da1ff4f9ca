"""The authorization matrix: every route, for four callers, with the status each must get.

Callers: anonymous, the owner of the objects, another signed-in user, an admin. Every one
has a session with a CSRF token (sent on unsafe requests), so the statuses show what
authorization alone decides. A route without a row here fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from rq.job import Job
from sqlalchemy import delete

from tests.support import PASSWORD, csrf_token, make_job, make_token, make_user, secure_login
from webapp.extensions import db
from webapp.models import MediaFile, Project, SavedView, User
from webapp.sessions import start_session

CALLERS = ("anon", "owner", "other", "admin")


@dataclass(frozen=True)
class Row:
    rule: str
    method: str
    path: str  # with {job}, {queued}, {failed}, {project}, {token}, {file_job}, {session},
    # {view}
    expect: tuple[int, int, int, int]  # anon, owner, other, admin
    body: dict | None = None
    json: bool = False
    own_session: bool = False  # it ends the session: sign in afresh for it


def _by_kind(anon, owner, other, admin):
    return (anon, owner, other, admin)


OWN_PAGE = _by_kind(303, 200, 404, 200)
OWN_FORM = _by_kind(401, 303, 404, 303)
USER_PAGE = _by_kind(303, 200, 200, 200)
OWN_API = _by_kind(401, 200, 404, 200)
RQ_PAGE = _by_kind(303, 403, 403, 200)
RQ_JSON = _by_kind(401, 403, 403, 200)
ADMIN_PAGE = _by_kind(303, 403, 403, 200)
PUBLIC = _by_kind(200, 200, 200, 200)

ROWS = [
    # Public
    Row("/login", "GET", "/login", _by_kind(200, 303, 303, 303)),
    Row("/login", "POST", "/login", _by_kind(401, 303, 303, 303),
        {"email": "nobody@example.com", "password": "wrong password"}),
    Row("/healthz", "GET", "/healthz", PUBLIC),
    Row("/readyz", "GET", "/readyz", PUBLIC),
    Row("/static/<path:filename>", "GET", "/static/app.css", PUBLIC),
    Row("/favicon.ico", "GET", "/favicon.ico", _by_kind(301, 301, 301, 301)),
    Row("/api/v1/openapi.json", "GET", "/api/v1/openapi.json", PUBLIC),
    Row("/appearance/theme", "POST", "/appearance/theme", _by_kind(303, 303, 303, 303),
        {"theme": "dark"}),
    # Pages and fragments
    Row("/logout", "POST", "/logout", _by_kind(303, 303, 303, 303), own_session=True),
    Row("/", "GET", "/", USER_PAGE),
    Row("/jobs", "POST", "/jobs", _by_kind(401, 303, 303, 303),
        {"task": "countdown", "steps": "2"}),
    Row("/jobs", "GET", "/jobs", USER_PAGE),
    Row("/jobs/bulk", "POST", "/jobs/bulk", _by_kind(401, 303, 303, 303),
        {"action": "cancel", "scope": "all", "query": "status=queued"}),
    Row("/jobs/views", "POST", "/jobs/views", _by_kind(401, 303, 303, 303),
        {"name": "matrix", "query": "status=failed"}),
    Row("/jobs/views/<int:view_id>/delete", "POST", "/jobs/views/{view}/delete",
        _by_kind(401, 303, 404, 404)),
    Row("/jobs/<uuid:job_id>", "GET", "/jobs/{job}", OWN_PAGE),
    Row("/jobs/<uuid:job_id>/card", "GET", "/jobs/{job}/card", OWN_PAGE),
    # The page's one poll: another user's card is a "no longer exists" note (test_live.py).
    Row("/live", "GET", "/live?v=&c={job}~x", USER_PAGE),
    Row("/jobs/<uuid:job_id>/cancel", "POST", "/jobs/{queued}/cancel", OWN_FORM),
    Row("/jobs/<uuid:job_id>/retry", "POST", "/jobs/{failed}/retry", OWN_FORM),
    Row("/jobs/<uuid:job_id>/delete", "POST", "/jobs/{job}/delete", OWN_FORM),
    Row("/jobs/<uuid:job_id>/files/<name>", "GET", "/jobs/{file_job}/files/video", OWN_PAGE),
    Row("/projects", "GET", "/projects", USER_PAGE),
    Row("/projects", "POST", "/projects", _by_kind(401, 303, 303, 303),
        {"title": "New", "topic": "Bees", "voice": "silent"}),
    Row("/projects/<int:project_id>", "GET", "/projects/{project}", OWN_PAGE),
    Row("/projects/<int:project_id>", "POST", "/projects/{project}", OWN_FORM,
        {"part": "settings", "title": "Renamed", "theme_preset": "paper"}),
    Row("/projects/<int:project_id>/render", "POST", "/projects/{project}/render", OWN_FORM),
    Row("/projects/<int:project_id>/scenes/<int:number>/preview.png", "GET",
        "/projects/{project}/scenes/1/preview.png", OWN_PAGE),
    Row("/projects/<int:project_id>/delete", "POST", "/projects/{project}/delete", OWN_FORM),
    # Uploads sent without a file: past authorization, the owner's is a 422 naming `file`.
    Row("/projects/<int:project_id>/scenes/<int:number>/media", "POST",
        "/projects/{project}/scenes/1/media", _by_kind(401, 422, 404, 422)),
    Row("/projects/<int:project_id>/scenes/<int:number>/media/delete", "POST",
        "/projects/{project}/scenes/1/media/delete", OWN_FORM),
    Row("/projects/<int:project_id>/music", "POST", "/projects/{project}/music",
        _by_kind(401, 422, 404, 422)),
    Row("/projects/<int:project_id>/music/delete", "POST", "/projects/{project}/music/delete",
        OWN_FORM),
    Row("/projects/<int:project_id>/media/<int:media_id>", "GET",
        "/projects/{project}/media/{media}", OWN_PAGE),
    Row("/settings/tokens", "GET", "/settings/tokens", USER_PAGE),
    Row("/settings/tokens", "POST", "/settings/tokens", _by_kind(401, 201, 201, 201),
        {"name": "matrix"}),
    Row("/settings/tokens/<int:token_id>/revoke", "POST", "/settings/tokens/{token}/revoke",
        _by_kind(401, 303, 404, 404)),
    Row("/settings/sessions", "GET", "/settings/sessions", USER_PAGE),
    Row("/settings/sessions/<int:session_id>/revoke", "POST",
        "/settings/sessions/{session}/revoke", _by_kind(401, 303, 404, 404)),
    Row("/settings/sessions/revoke-all", "POST", "/settings/sessions/revoke-all",
        _by_kind(401, 303, 303, 303), own_session=True),
    Row("/settings/password", "GET", "/settings/password", USER_PAGE),
    Row("/settings/password", "POST", "/settings/password", _by_kind(401, 303, 303, 303),
        {"current_password": PASSWORD, "new_password": "a new pass phrase",
         "confirm_password": "a new pass phrase"}, own_session=True),
    Row("/admin/audit", "GET", "/admin/audit", ADMIN_PAGE),
    Row("/admin/users", "GET", "/admin/users", ADMIN_PAGE),
    Row("/console/metrics", "GET", "/console/metrics", ADMIN_PAGE),
    # Off while METRICS_TOKEN is unset (tests/test_metrics_prometheus.py checks the token).
    Row("/metrics", "GET", "/metrics", _by_kind(404, 404, 404, 404)),
    Row("/admin/users/<int:user_id>/limits", "POST", "/admin/users/{user}/limits",
        _by_kind(401, 403, 403, 303), {"max_running_jobs": "3"}),
    Row("/console/consistency", "GET", "/console/consistency", ADMIN_PAGE),
    Row("/console/consistency/check", "POST", "/console/consistency/check",
        _by_kind(401, 403, 403, 303)),
    Row("/console/queues", "GET", "/console/queues", ADMIN_PAGE),
    Row("/console/queues/<name>/pause", "POST", "/console/queues/default/pause",
        _by_kind(401, 403, 403, 303)),
    Row("/console/queues/<name>/resume", "POST", "/console/queues/default/resume",
        _by_kind(401, 403, 403, 303)),
    Row("/console/workers", "GET", "/console/workers", ADMIN_PAGE),
    # No worker of that name runs: 404 for the admin.
    Row("/console/workers/<name>/stop-job", "POST", "/console/workers/nobody/stop-job",
        _by_kind(401, 403, 403, 404), {"job_id": str(uuid.UUID(int=1))}),
    # API
    Row("/api/v1/tasks", "GET", "/api/v1/tasks", _by_kind(401, 200, 200, 200)),
    Row("/api/v1/tasks/<name>", "POST", "/api/v1/tasks/countdown",
        _by_kind(401, 202, 202, 202), {"steps": 2}, json=True),
    Row("/api/v1/jobs", "GET", "/api/v1/jobs", _by_kind(401, 200, 200, 200)),
    Row("/api/v1/jobs/bulk", "POST", "/api/v1/jobs/bulk", _by_kind(401, 202, 202, 202),
        {"action": "cancel", "filter": {"status": "queued"}}, json=True),
    Row("/api/v1/jobs/<uuid:job_id>", "GET", "/api/v1/jobs/{job}", OWN_API),
    Row("/api/v1/jobs/<uuid:job_id>", "DELETE", "/api/v1/jobs/{job}",
        _by_kind(401, 204, 404, 204)),
    Row("/api/v1/jobs/<uuid:job_id>/cancel", "POST", "/api/v1/jobs/{queued}/cancel", OWN_API),
    Row("/api/v1/jobs/<uuid:job_id>/retry", "POST", "/api/v1/jobs/{failed}/retry",
        _by_kind(401, 202, 404, 202)),
    Row("/api/v1/jobs/<uuid:job_id>/files/<name>", "GET", "/api/v1/jobs/{file_job}/files/video",
        OWN_API),
    Row("/api/v1/projects", "GET", "/api/v1/projects", _by_kind(401, 200, 200, 200)),
    Row("/api/v1/projects", "POST", "/api/v1/projects", _by_kind(401, 201, 201, 201),
        {"title": "New", "topic": "Bees", "voice": "silent"}, json=True),
    Row("/api/v1/projects/<int:project_id>", "GET", "/api/v1/projects/{project}", OWN_API),
    Row("/api/v1/projects/<int:project_id>", "PATCH", "/api/v1/projects/{project}", OWN_API,
        {"title": "Renamed"}, json=True),
    Row("/api/v1/projects/<int:project_id>", "DELETE", "/api/v1/projects/{project}",
        _by_kind(401, 204, 404, 204)),
    Row("/api/v1/projects/<int:project_id>/render", "POST",
        "/api/v1/projects/{project}/render", _by_kind(401, 202, 404, 202)),
    Row("/api/v1/projects/<int:project_id>/media", "GET", "/api/v1/projects/{project}/media",
        OWN_API),
    Row("/api/v1/projects/<int:project_id>/media/<int:media_id>", "GET",
        "/api/v1/projects/{project}/media/{media}", OWN_API),
    Row("/api/v1/projects/<int:project_id>/scenes/<int:number>/media", "PUT",
        "/api/v1/projects/{project}/scenes/1/media", _by_kind(401, 422, 404, 422)),
    Row("/api/v1/projects/<int:project_id>/scenes/<int:number>/media", "DELETE",
        "/api/v1/projects/{project}/scenes/1/media", _by_kind(401, 204, 404, 204)),
    Row("/api/v1/projects/<int:project_id>/music", "PUT", "/api/v1/projects/{project}/music",
        _by_kind(401, 422, 404, 422)),
    Row("/api/v1/projects/<int:project_id>/music", "DELETE",
        "/api/v1/projects/{project}/music", _by_kind(401, 204, 404, 204)),
    Row("/api/v1/audit", "GET", "/api/v1/audit", _by_kind(401, 403, 403, 200)),
    Row("/api/v1/me", "GET", "/api/v1/me", _by_kind(401, 200, 200, 200)),
    Row("/api/v1/metrics", "GET", "/api/v1/metrics", _by_kind(401, 403, 403, 200)),
    Row("/api/v1/consistency", "GET", "/api/v1/consistency", _by_kind(401, 403, 403, 200)),
    Row("/api/v1/users", "GET", "/api/v1/users", _by_kind(401, 403, 403, 200)),
    Row("/api/v1/users/<int:user_id>", "GET", "/api/v1/users/{user}",
        _by_kind(401, 403, 403, 200)),
    Row("/api/v1/users/<int:user_id>", "PATCH", "/api/v1/users/{user}",
        _by_kind(401, 403, 403, 200), {"limits": {"max_running_jobs": 3}}, json=True),
    Row("/api/v1/queues", "GET", "/api/v1/queues", _by_kind(401, 403, 403, 200)),
    Row("/api/v1/queues/<name>/pause", "POST", "/api/v1/queues/default/pause",
        _by_kind(401, 403, 403, 200)),
    Row("/api/v1/queues/<name>/resume", "POST", "/api/v1/queues/default/resume",
        _by_kind(401, 403, 403, 200)),
    Row("/api/v1/workers", "GET", "/api/v1/workers", _by_kind(401, 403, 403, 200)),
    # rq-dashboard
    Row("/rq/", "GET", "/rq/", RQ_PAGE),
    # Werkzeug redirects these to their canonical /rq/ before any guard runs.
    Row("/rq/<int:instance_number>/", "GET", "/rq/0/", _by_kind(308, 308, 308, 308)),
    Row("/rq/<int:instance_number>/view", "GET", "/rq/0/view", _by_kind(308, 308, 308, 308)),
    Row("/rq/<int:instance_number>/view/queues", "GET", "/rq/0/view/queues",
        _by_kind(308, 308, 308, 308)),
    Row("/rq/<int:instance_number>/view/workers", "GET", "/rq/0/view/workers", RQ_PAGE),
    Row("/rq/<int:instance_number>/view/jobs", "GET", "/rq/0/view/jobs", RQ_PAGE),
    Row("/rq/<int:instance_number>/view/jobs/<queue_name>/<registry_name>/<int:per_page>/"
        "<order>/<int:page>", "GET", "/rq/0/view/jobs/default/queued/8/asc/1", RQ_PAGE),
    Row("/rq/<int:instance_number>/view/job/<job_id>", "GET", "/rq/0/view/job/{job}", RQ_PAGE),
    Row("/rq/<int:instance_number>/data/queues.json", "GET", "/rq/0/data/queues.json",
        RQ_JSON),
    Row("/rq/<int:instance_number>/data/workers.json", "GET", "/rq/0/data/workers.json",
        RQ_JSON),
    Row("/rq/<int:instance_number>/data/jobs/<queue_name>/<registry_name>/<per_page>/<order>/"
        "<page>.json", "GET", "/rq/0/data/jobs/default/queued/8/asc/1.json", RQ_JSON),
    Row("/rq/<int:instance_number>/data/job/<job_id>.json", "GET", "/rq/0/data/job/{job}.json",
        RQ_JSON),
    Row("/rq/job/<job_id>/delete", "POST", "/rq/job/{job}/delete", RQ_JSON),
    Row("/rq/job/<job_id>/requeue", "POST", "/rq/job/{failed}/requeue", RQ_JSON),
    Row("/rq/requeue/<queue_name>", "GET", "/rq/requeue/default", _by_kind(303, 403, 403, 405)),
    Row("/rq/requeue/<queue_name>", "POST", "/rq/requeue/default", RQ_JSON),
    Row("/rq/queue/<queue_name>/<registry_name>/empty", "POST", "/rq/queue/default/failed/empty",
        RQ_JSON),
    Row("/rq/queue/<queue_name>/compact", "POST", "/rq/queue/default/compact", RQ_JSON),
    Row("/rq/favicon.ico", "GET", "/rq/favicon.ico", RQ_PAGE),
    Row("/rq/static/<path:filename>", "GET", "/rq/static/css/main.css", RQ_PAGE),
]


def test_every_route_has_a_row(secure_app):
    routes = {(rule.rule, method) for rule in secure_app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(row.rule, row.method) for row in ROWS}
    assert routes - covered == set(), "routes without a row in the authorization matrix"
    assert covered - routes == set(), "rows for routes that no longer exist"


@pytest.fixture(scope="module")
def people(secure_app):
    """The three accounts, made once (password hashing is slow on purpose) and removed after;
    each with a signed-in client and its CSRF token, plus an anonymous client."""
    with secure_app.app_context():
        users = {"owner": make_user(), "other": make_user(), "admin": make_user(admin=True)}
        ids = {name: user.id for name, user in users.items()}
        clients = {}
        for name in CALLERS:
            client = secure_app.test_client()
            token = csrf_token(client) if name == "anon" else secure_login(client, users[name])
            clients[name] = (client, token)
    yield ids, clients
    with secure_app.app_context():
        db.session.execute(delete(User).where(User.id.in_(list(ids.values()))))
        db.session.commit()


def _objects(redis, ids: dict) -> dict:
    """The owner's things, fresh for each cell (the test's transaction rolls them back)."""
    owner = db.session.get(User, ids["owner"])
    job = make_job(owner, task="trigger-test", status="finished", params={"message": "m"},
                   result={"message": "m"})
    queued = make_job(owner, status="queued")
    failed = make_job(owner, status="failed", error="boom", attempt=1)
    file_job = _file_job(owner)
    project = Project(user_id=owner.id, title="Theirs", topic="Tides", voice="silent", theme={},
                      script=[{"heading": "One", "narration": "First."}])
    db.session.add(project)
    db.session.flush()
    picture, _ = _media(project, "image"), _media(project, "music")
    project.script = [{"heading": "One", "narration": "First.", "media": picture.id}]
    db.session.commit()
    make_token(owner, "owned")
    token = owner.tokens[0]
    other_browser, _ = start_session(owner, timedelta(hours=1), "192.0.2.1", "matrix")
    view = SavedView(user_id=owner.id, name="Theirs", query="status=failed")
    db.session.add(view)
    db.session.commit()
    for row_job in (job, failed):
        Job.create(print, id=str(row_job.id), connection=redis, origin="default").save()
    return {"ids": {"job": job.id, "queued": queued.id, "failed": failed.id,
                    "file_job": file_job.id, "project": project.id, "token": token.id,
                    "user": owner.id, "session": other_browser.id, "view": view.id,
                    "media": picture.id}}


def _media(project: Project, kind: str) -> MediaFile:
    """An uploaded file of the project: a real picture (its scene's preview draws it); the
    music's bytes need not be sound here."""
    from PIL import Image

    from webapp.storage import get_store

    picture = io.BytesIO()
    Image.new("RGB", (64, 36), (20, 90, 160)).save(picture, "PNG")
    data = picture.getvalue() if kind == "image" else b"matrix"
    key = f"projects/{project.id}/media/{uuid.uuid4().hex[:16]}/{kind}.png"
    get_store().put(key, data)
    media = MediaFile(project_id=project.id, user_id=project.user_id, kind=kind, key=key,
                      name=f"{kind}.png", content_type="image/png", size=len(data),
                      sha256=uuid.uuid4().hex * 2)
    db.session.add(media)
    db.session.flush()
    return media


def _file_job(owner):
    from webapp.storage import get_store

    output = f"matrix/{uuid.uuid4().hex}"
    get_store().put(f"{output}/video.mp4", b"\x00\x00\x00\x18ftypmp42")
    result = {"output": output, "files": {"video": "video.mp4"}}
    return make_job(owner, task="assemble-video", status="finished", result=result)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.rule}")
def test_route_for_caller(secure_app, people, db_session, redis, row: Row, caller: str):
    ids, clients = people
    objects = _objects(redis, ids)
    client, token = clients[caller]
    if row.own_session:
        client = secure_app.test_client()
        token = (csrf_token(client) if caller == "anon"
                 else secure_login(client, db.session.get(User, ids[caller])))
    path = row.path.format(**objects["ids"])
    kwargs = {"headers": {"X-CSRFToken": token}}
    if row.json:
        kwargs["json"] = row.body
    elif row.body is not None:
        kwargs["data"] = row.body
    with client.open(path, method=row.method, **kwargs) as response:
        status = response.status_code
        body = response.get_data()[:300].decode(errors="replace")
    expected = row.expect[CALLERS.index(caller)]
    assert status == expected, f"{row.method} {path} as {caller}: {status} {body}"
