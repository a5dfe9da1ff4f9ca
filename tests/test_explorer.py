"""The jobs explorer's filters, keyset pages and counts, on the API (`GET /api/v1/jobs`) and
on the page (`GET /jobs`), against real PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from sqlalchemy import text

from tests.support import login, make_job, make_token, make_user
from webapp.extensions import db
from webapp.models import Project
from webapp.templating import row_url

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {make_token(user)}"}


@pytest.fixture
def people(db_session):
    owner, other, admin = make_user(), make_user(), make_user(admin=True)
    return {"owner": owner, "other": other, "admin": admin}


@pytest.fixture
def jobs(people):
    """One job for each filter to find, all but one the owner's."""
    owner, other = people["owner"], people["other"]
    project = Project(user_id=owner.id, title="Tides", topic="The sea", voice="silent",
                      theme={})
    db.session.add(project)
    db.session.commit()
    day = timedelta(days=1)
    made = {
        "failed": make_job(owner, task="fail-test", status="failed", stage="Attempt 3",
                           error="RuntimeError: kaboom zebra", error_code="timeout",
                           params={"message": "first"}, created_at=AT,
                           ended_at=AT + timedelta(minutes=5)),
        "stopped": make_job(owner, status="stopped", stage="Step 4 of 9",
                            created_at=AT + day, ended_at=AT + day + timedelta(hours=2)),
        "queued": make_job(owner, status="queued", params={"steps": 7},
                           created_at=AT + 2 * day),
        "video": make_job(owner, task="narrate", status="finished", stage="Narrating scene 2",
                          params={"project_id": project.id}, project_id=project.id,
                          created_at=AT + 3 * day, ended_at=AT + 3 * day),
        "other": make_job(other, task="trigger-test", status="failed", error_code="exception",
                          error="ValueError: nope", params={"message": "needle in a param"},
                          created_at=AT + 4 * day, ended_at=AT + 4 * day),
    }
    made["video"].queue = "video"
    db.session.commit()
    return {name: str(job.id) for name, job in made.items()} | {"project": project.id}


# (query, what the owner sees, what an admin sees); {names} are filled in from the fixtures.
CASES = [
    ("status=failed", {"failed"}, {"failed", "other"}),
    ("status=failed&status=stopped", {"failed", "stopped"}, {"failed", "stopped", "other"}),
    ("task=countdown", {"stopped", "queued"}, {"stopped", "queued"}),
    ("queue=video", {"video"}, {"video"}),
    ("project_id={project}", {"video"}, {"video"}),
    ("error_code=timeout", {"failed"}, {"failed"}),
    ("stage=narrat", {"video"}, {"video"}),
    ("stage=STEP+4", {"stopped"}, {"stopped"}),
    ("q=ZEBRA", {"failed"}, {"failed"}),
    ("q=needle", set(), {"other"}),
    ("q=first", {"failed"}, {"failed"}),
    ("q={failed_prefix}", {"failed"}, {"failed"}),
    ("q=kab*+zeb*", {"failed"}, {"failed"}),  # each word* starts a word of the error
    ("q=kab+zebra", set(), set()),  # a word without * is a whole word
    ("q=kaboom+nope", set(), set()),  # every word must match
    ("q=message", set(), set()),  # parameter names are not searched, only their values
    ("q=100%25", set(), set()),  # no wildcards
    ("created_after=2026-01-06T10:00:00Z&created_before=2026-01-07T10:00:00Z",
     {"stopped"}, {"stopped"}),
    ("created_after=2026-01-06&created_before=2026-01-07", {"stopped", "queued"},
     {"stopped", "queued"}),  # dates alone: whole days
    ("ended_after=2026-01-06T00:00&ended_before=2026-01-07T00:00", {"stopped"}, {"stopped"}),
    ("user={other_email}", set(), {"other"}),
    ("user={owner_email}", {"failed", "stopped", "queued", "video"},
     {"failed", "stopped", "queued", "video"}),
    ("status=failed&task=fail-test&q=kaboom", {"failed"}, {"failed"}),
]


def _query(template: str, jobs: dict, people: dict) -> str:
    return template.format(project=jobs["project"], failed_prefix=jobs["failed"][:6],
                           other_email=people["other"].email.upper(),
                           owner_email=people["owner"].email)


def _named(ids: set[str], jobs: dict) -> set[str]:
    names = {job_id: name for name, job_id in jobs.items() if name != "project"}
    return {names[i] for i in ids if i in names}


@pytest.mark.parametrize(("template", "mine", "everyone"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("viewer", ["owner", "admin"])
def test_each_filter_on_the_api(client, people, jobs, template, mine, everyone, viewer):
    query = _query(template, jobs, people)
    response = client.get(f"/api/v1/jobs?{query}&per_page=100", headers=_bearer(people[viewer]))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    found = {item["id"] for item in body["items"]}
    assert _named(found, jobs) == (mine if viewer == "owner" else everyone)
    if viewer == "owner":
        assert all(item["user_id"] == people["owner"].id for item in body["items"])
        assert body["count"] == len(found) and body["count_capped"] is False


@pytest.mark.parametrize(("template", "mine", "everyone"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("viewer", ["owner", "admin"])
def test_each_filter_on_the_page(client, people, jobs, template, mine, everyone, viewer):
    login(client, people[viewer])
    response = client.get(f"/jobs?{_query(template, jobs, people)}&per_page=100")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = set(re.findall(r'name="ids" value="([0-9a-f-]{36})"', html))
    assert _named(found, jobs) == (mine if viewer == "owner" else everyone)


def test_the_page_is_a_get_form_that_keeps_what_was_chosen(client, people, jobs):
    login(client, people["admin"])
    html = client.get("/jobs?status=failed&status=stopped&task=fail-test&q=kaboom"
                      "&created_after=2026-01-05T09:30:00Z").get_data(as_text=True)
    form = html[html.index('role="search"') - 200:html.index("Show jobs")]
    assert 'method="get" action="/jobs"' in form
    for status in ("failed", "stopped"):
        assert f'value="{status}" checked' in form
    assert 'value="fail-test" selected' in form and 'value="kaboom"' in form
    assert 'name="created_after" type="datetime-local" step="1" value="2026-01-05T09:30"' in form
    assert 'name="user"' in form  # admins filter by owner


def test_only_admins_get_the_owner_field(client, people, jobs):
    login(client, people["owner"])
    html = client.get("/jobs").get_data(as_text=True)
    assert 'name="user"' not in html and "5 jobs match" not in html
    assert "4 jobs match" in html


def test_a_user_filtering_by_someone_elses_email_sees_nothing(client, people, jobs):
    """Not a 403: an unknown email and someone else's answer alike, revealing no account."""
    for email in (people["other"].email, "nobody@example.com"):
        body = client.get(f"/api/v1/jobs?user={email}", headers=_bearer(people["owner"]))
        assert body.status_code == 200
        assert body.get_json()["items"] == [] and body.get_json()["count"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ("status=bogus", "status"), ("status=failed&status=nope", "status"),
    ("project_id=abc", "project_id"), ("project_id=0", "project_id"),
    ("project_id=99999999999", "project_id"), ("created_after=yesterday", "created_after"),
    ("ended_before=2026-13-01", "ended_before"), ("created_before=9999-12-31", "created_before"),
    ("q=ab", "q"), ("task=" + "x" * 65, "task"), ("stage=a%00b", "stage"),
    ("user=" + "u" * 255, "user"), ("per_page=0", "per_page"), ("per_page=101", "per_page"),
    ("page=2", "page"), ("cursor=not-a-cursor", "cursor"),
])
def test_bad_filters_are_422_naming_the_field(client, people, query, field):
    response = client.get(f"/api/v1/jobs?{query}", headers=_bearer(people["owner"]))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["details"][0]["field"] == field


@pytest.mark.parametrize(("query", "field"), [
    ("status=bogus", "status"), ("created_after=soon", "created_after"), ("q=a", "q"),
    ("project_id=-1", "project_id"),
])
def test_bad_filters_on_the_page_are_422_and_marked(client, people, query, field):
    login(client, people["owner"])
    response = client.get(f"/jobs?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Some filters are not valid" in html and "jobs match" not in html
    if field != "status":
        assert f'aria-invalid="true" aria-describedby="f-{field}-error"' in html


def _flip(cursor: str) -> str:
    """The same cursor with one character of its payload changed."""
    middle = len(cursor) // 3
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1:]


def test_a_tampered_cursor_is_422_on_the_api_and_the_page(client, people):
    owner = people["owner"]
    for _ in range(3):
        make_job(owner)
    cursor = client.get("/api/v1/jobs?per_page=1",
                        headers=_bearer(owner)).get_json()["next_cursor"]
    assert cursor
    assert client.get(f"/api/v1/jobs?cursor={cursor}", headers=_bearer(owner)).status_code == 200
    for bad in (_flip(cursor), cursor + "x", "x" * 400):
        response = client.get(f"/api/v1/jobs?cursor={bad}", headers=_bearer(owner))
        assert response.status_code == 422
        assert response.get_json()["error"]["details"] == [
            {"field": "cursor", "message": "Not a cursor from this listing: start again from "
                                           "the first page."}]
    login(client, owner)
    page = client.get(f"/jobs?cursor={_flip(cursor)}")
    assert page.status_code == 422 and "Not a cursor from this listing" in page.get_data(
        as_text=True)


def test_keyset_pages_walk_everything_once_while_rows_are_inserted(client, people):
    """Ties in created_at are broken by id; rows inserted meanwhile (newer ones, and ones with
    the very timestamp of rows already listed) neither repeat nor hide the others."""
    owner = people["owner"]
    headers = _bearer(owner)
    original = set()
    for n in range(25):
        original.add(str(make_job(owner, created_at=AT - timedelta(minutes=n // 3)).id))
    seen: list[str] = []
    url = "/api/v1/jobs?per_page=4&task=countdown"
    pages = 0
    while url:
        body = client.get(url, headers=headers).get_json()
        seen += [item["id"] for item in body["items"]]
        assert len(body["items"]) <= 4 and body["count"] >= 25
        make_job(owner)  # newest of all: before the cursor, never seen on later pages
        make_job(owner, created_at=datetime.fromisoformat(body["items"][-1]["created_at"]))
        url, pages = body["next"], pages + 1
        assert pages < 40, "the walk does not end"
    assert len(seen) == len(set(seen)), "a job came twice"
    assert original <= set(seen), "a job was skipped"


def test_prev_cursors_walk_back_to_the_first_page(client, people):
    owner = people["owner"]
    headers = _bearer(owner)
    for n in range(10):
        make_job(owner, created_at=AT - timedelta(seconds=n))
    forward, url, last = [], "/api/v1/jobs?per_page=3", None
    while url:
        last = client.get(url, headers=headers).get_json()
        forward.append([item["id"] for item in last["items"]])
        url = last["next"]
    assert [len(p) for p in forward] == [3, 3, 3, 1] and last["prev"]
    backward, url = [], last["prev"]
    while url:
        body = client.get(url, headers=headers).get_json()
        backward.append([item["id"] for item in body["items"]])
        url = body["prev"]
    assert backward == forward[-2::-1]


def test_counts_stop_at_the_configured_cap(app, client, people, monkeypatch):
    monkeypatch.setitem(app.config, "EXPLORER_COUNT_CAP", 5)
    owner = people["owner"]
    for _ in range(5):
        make_job(owner, status="failed")
    body = client.get("/api/v1/jobs?status=failed", headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"], body["total"]) == (5, False, 5)
    for _ in range(3):
        make_job(owner, status="failed")
    body = client.get("/api/v1/jobs?status=failed&per_page=2",
                      headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (5, True, 2)
    login(client, owner)
    html = client.get("/jobs?status=failed").get_data(as_text=True)
    assert "5+ jobs match" in html and "all 5+ matching this filter" in html


def test_a_count_over_the_cap_is_remembered_for_a_minute_until_a_page_shows_less(
        app, client, people, monkeypatch, redis):
    monkeypatch.setitem(app.config, "EXPLORER_COUNT_CAP", 5)
    owner = people["owner"]
    jobs = [make_job(owner, status="failed") for _ in range(8)]
    url = "/api/v1/jobs?status=failed&per_page=2"
    body = client.get(url, headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"]) == (5, True)
    remembered = redis.keys("cutroom:explorer:capped:*")
    assert len(remembered) == 1 and 0 < redis.ttl(remembered[0]) <= 60
    for job in jobs[:5]:  # deleted behind the explorer's back: the memory still says 5+
        db.session.delete(job)
    db.session.flush()
    body = client.get(url, headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (5, True, 2)
    # A first page that holds every match knows better, and the memory goes.
    body = client.get("/api/v1/jobs?status=failed", headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (3, False, 3)
    assert redis.keys("cutroom:explorer:capped:*") == []
    # Another filter, or another user's scope, is counted on its own.
    assert client.get("/api/v1/jobs?status=finished",
                      headers=_bearer(owner)).get_json()["count"] == 0


def test_past_10000_the_count_reads_10000_plus(client, people):
    owner = people["owner"]
    db.session.execute(text(
        "INSERT INTO background_jobs (id, task, queue, status, params, user_id) "
        "SELECT gen_random_uuid(), 'countdown', 'default', 'finished', '{}', :user "
        "FROM generate_series(1, 10001)"), {"user": owner.id})
    body = client.get("/api/v1/jobs?status=finished", headers=_bearer(owner)).get_json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (10_000, True, 20)
    login(client, owner)
    assert "10,000+ jobs match" in client.get("/jobs?status=finished").get_data(as_text=True)


def test_each_row_links_its_job_and_project_as_url_for_builds_them(app, client, people):
    owner = people["owner"]
    project = Project(user_id=owner.id, title="Linked", topic="Links")
    db.session.add(project)
    db.session.flush()
    job = make_job(owner, status="failed", project_id=project.id)
    login(client, owner)
    html = client.get("/jobs").get_data(as_text=True)
    with app.test_request_context():
        job_url = url_for("dashboard.job_page", job_id=job.id)
        project_url = url_for("projects.project_page", project_id=project.id)
        build = row_url("dashboard.job_page", "job_id")
        with pytest.raises(TypeError):  # only ids go in unquoted: not text from anywhere
            build(f"{job.id}/../x")
        # An endpoint that takes the id in its query string gets it there, as url_for does.
        assert row_url("explorer.index", "project_id", "int")(project.id) == url_for(
            "explorer.index", project_id=project.id)
    assert f'<a href="{job_url}">' in html and f'<a href="{project_url}">project' in html
    assert f'value="{job.id}" id="pick-{job.id}"' in html


def test_the_list_links_keep_the_filter_and_the_page_size(client, people):
    owner = people["owner"]
    for _ in range(3):
        make_job(owner, status="failed", task="fail-test")
    body = client.get("/api/v1/jobs?status=failed&task=fail-test&per_page=2",
                      headers=_bearer(owner)).get_json()
    assert "status=failed" in body["next"] and "task=fail-test" in body["next"]
    assert "per_page=2" in body["next"] and body["prev"] is None
    following = client.get(body["next"], headers=_bearer(owner)).get_json()
    assert len(following["items"]) == 1 and following["next"] is None


def test_the_openapi_document_lists_every_filter(client, db_session):
    document = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in document["paths"]["/jobs"]["get"]["parameters"]}
    assert names == {"status", "task", "queue", "user", "project_id", "error_code", "stage",
                     "q", "created_after", "created_before", "ended_after", "ended_before",
                     "cursor", "per_page"}
    page = document["components"]["schemas"]["JobPage"]["properties"]
    assert {"next_cursor", "count", "count_capped"} <= set(page)
    assert "/jobs/bulk" in document["paths"]


def test_an_id_prefix_is_a_range_on_the_primary_key(client, people):
    """Searching a prefix finds the job by id (dashes or not), and nothing else matches."""
    owner = people["owner"]
    job = make_job(owner, id=uuid.UUID("0123abcd-ef01-4567-89ab-cdef01234567"))
    make_job(owner, id=uuid.UUID("0124abcd-ef01-4567-89ab-cdef01234567"))
    for q in ("0123", "0123ABCD-EF", "0123abcdef01"):
        body = client.get(f"/api/v1/jobs?q={q}", headers=_bearer(owner)).get_json()
        assert [item["id"] for item in body["items"]] == [str(job.id)], q


@pytest.mark.parametrize("query", ["", "status=failed&status=stopped", "stage=s", "q=kaboom",
                                   "ended_before=2026-01-07", "task=countdown",
                                   "user={owner_email}"])
def test_every_plan_pages_through_the_same_jobs(people, jobs, query, monkeypatch):
    """However a page is planned (webapp/explorer/search.py), the pages hold the same jobs,
    forwards and back; the walk reads chunks of 1 to 4 rows here, several for a page."""
    from werkzeug.datastructures import MultiDict

    from webapp.explorer import filters, search, where
    from webapp.explorer.cursor import decode

    monkeypatch.setattr(search, "CHUNK", 1)
    monkeypatch.setattr(search, "MAX_CHUNK", 4)
    pairs = [pair.split("=") for pair in _query(query, jobs, people).split("&") if pair]
    selection = where.where(filters.from_args(MultiDict(pairs)), people["admin"])

    def pages(plan: str, cursor=None, key: str = "next_cursor") -> list[list[str]]:
        found = []
        while True:
            page = search.keyset_page(selection, cursor, 2, plan)
            found.append([str(job.id) for job in page.items])
            if getattr(page, key) is None:
                return found
            cursor = decode(getattr(page, key))

    forwards = {plan: pages(plan) for plan in search.PLANS}
    assert forwards["as is"] == forwards["fetch all"] == forwards["walk"]
    flat = [job_id for page in forwards["walk"] for job_id in page]
    assert len(flat) == len(set(flat)) and (query or len(flat) >= 5)
    if len(forwards["walk"]) > 1:
        last = search.keyset_page(selection, decode(_cursor_before_last(selection, search)),
                                  2, "walk")
        back = pages("walk", decode(last.prev_cursor), "prev_cursor")
        assert back == forwards["walk"][-2::-1]


def _cursor_before_last(selection, search) -> str:
    """The next_cursor that leads to the last page (walked "as is")."""
    from webapp.explorer.cursor import decode

    cursor, previous = None, None
    while True:
        page = search.keyset_page(selection, decode(cursor) if cursor else None, 2)
        if page.next_cursor is None:
            return previous
        previous, cursor = page.next_cursor, page.next_cursor


def test_each_row_says_how_its_job_ended_as_the_cards_do(client, db_session):
    """A finished job shows no leftover stage, a stop is muted (not an error), a failure is
    red with its code."""
    owner = make_user()
    now = datetime.now(UTC)
    make_job(owner, task="trigger-test", status="finished", stage="Pausing 1 s",
             started_at=now, ended_at=now, progress=100)
    make_job(owner, status="stopped", stage="Step 5 of 10",
             error="Stopped on request while running.", cancel_requested_at=now,
             started_at=now, ended_at=now)
    make_job(owner, task="fail-test", status="failed", error="disk full",
             error_code="task_error", started_at=now, ended_at=now, attempt=3)
    login(client, owner)
    html = client.get("/jobs").get_data(as_text=True)
    assert "Pausing 1 s" not in html and "Step 5 of 10" not in html
    assert '<span class="muted">Stopped on request</span>' in html
    assert re.search(r'<span class="error">[^<]*disk full</span> <code>task_error</code>', html)
