"""Deleting jobs, and the audit log of admin actions on other users' things."""

import pytest

from tests.support import login, make_job, make_token, make_user
from webapp.models import AuditEvent, BackgroundJob, Project


@pytest.fixture
def owner(db_session):
    return make_user()


@pytest.fixture
def admin(db_session):
    return make_user(admin=True)


def _bearer(user):
    return {"Authorization": f"Bearer {make_token(user)}"}


def test_owners_delete_their_final_jobs_but_not_running_ones(client, owner):
    done = make_job(owner, status="finished")
    running = make_job(owner, status="started")
    auth = _bearer(owner)
    assert client.delete(f"/api/v1/jobs/{done.id}", headers=auth).status_code == 204
    assert BackgroundJob.query.filter_by(id=done.id).count() == 0
    response = client.delete(f"/api/v1/jobs/{running.id}", headers=auth)
    assert response.status_code == 409 and "cancel it first" in response.get_json()["error"][
        "message"]
    assert AuditEvent.query.count() == 0  # owners acting on their own things are not audited


def test_admin_actions_on_other_users_jobs_are_audited(client, owner, admin):
    waiting = make_job(owner, status="queued")
    failed = make_job(owner, status="failed", error="x")
    done = make_job(owner, status="finished")
    auth = _bearer(admin)
    assert client.post(f"/api/v1/jobs/{waiting.id}/cancel", headers=auth).status_code == 200
    assert client.post(f"/api/v1/jobs/{failed.id}/retry", headers=auth).status_code == 202
    assert client.delete(f"/api/v1/jobs/{done.id}", headers=auth).status_code == 204
    own = make_job(admin, status="finished")
    client.delete(f"/api/v1/jobs/{own.id}", headers=auth)
    events = AuditEvent.query.order_by(AuditEvent.id).all()
    assert [(e.action, e.target_id, e.owner_id, e.actor_email) for e in events] == [
        ("job.cancel", str(waiting.id), owner.id, admin.email),
        ("job.retry", str(failed.id), owner.id, admin.email),
        ("job.delete", str(done.id), owner.id, admin.email)]
    log = client.get("/api/v1/audit", headers=auth).get_json()
    assert [e["action"] for e in log["items"]] == ["job.delete", "job.retry", "job.cancel"]
    assert client.get("/api/v1/audit", headers=_bearer(owner)).status_code == 403


def test_admin_page_actions_and_project_deletes_are_audited(client, owner, admin):
    project = Project(user_id=owner.id, title="Theirs", topic="t", voice="silent", theme={})
    from webapp.extensions import db

    db.session.add(project)
    db.session.commit()
    done = make_job(owner, status="finished")
    login(client, admin)
    assert client.post(f"/jobs/{done.id}/delete").status_code == 303
    assert client.post(f"/projects/{project.id}/delete").status_code == 303
    actions = [e.action for e in AuditEvent.query.order_by(AuditEvent.id)]
    assert actions == ["job.delete", "project.delete"]
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "project.delete" in page and "Theirs" in page
    client.post("/logout")
    login(client, owner)
    assert client.get("/admin/audit").status_code == 403


def test_deleting_a_card_with_htmx_removes_it(client, owner):
    done = make_job(owner, status="canceled")
    login(client, owner)
    response = client.post(f"/jobs/{done.id}/delete", headers={"HX-Request": "true"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "")
    assert BackgroundJob.query.filter_by(id=done.id).count() == 0


@pytest.fixture
def audit_refused(db_session):
    """PostgreSQL refuses every audit row (a trigger; rolled back with the test)."""
    from sqlalchemy import text

    db_session.execute(text(
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$"))
    db_session.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                            "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"))


def _attempt(call):
    """Make the request; the refused audit row fails it (as a 500, or raised in tests)."""
    try:
        return call().status_code
    except Exception as exc:  # TESTING propagates the database's error
        assert "audit refused" in str(exc)
        return 500


def test_an_admin_action_and_its_audit_row_commit_together(client, owner, admin,
                                                            audit_refused, db_session):
    """If the audit row cannot be written, the action does not happen either."""
    project = Project(user_id=owner.id, title="Theirs", topic="t", voice="silent", theme={})
    db_session.add(project)
    waiting = make_job(owner, status="queued")
    db_session.commit()
    auth = _bearer(admin)
    assert _attempt(lambda: client.patch(f"/api/v1/projects/{project.id}",
                                         json={"title": "Taken"}, headers=auth)) == 500
    assert _attempt(lambda: client.post(f"/api/v1/jobs/{waiting.id}/cancel",
                                        headers=auth)) == 500
    db_session.rollback()
    db_session.expire_all()
    assert db_session.get(Project, project.id).title == "Theirs"
    assert db_session.get(BackgroundJob, waiting.id).status == "queued"


def test_the_audit_page_names_people_by_email_and_says_who_is_gone(client, owner, admin):
    from webapp.extensions import db

    gone = make_user()
    for user in (owner, gone):
        job = make_job(user, status="finished")
        login(client, admin)
        assert client.post(f"/jobs/{job.id}/delete").status_code == 303
    limits = client.post(f"/admin/users/{owner.id}/limits", data={"max_running_jobs": "3"})
    assert limits.status_code == 303
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    rows = page[page.index("<table"):page.index("</table>")].split("<tr>")[2:]
    assert len(rows) == 3
    newest, deleted, theirs = rows
    assert "user.limits" in newest and newest.count(owner.email) == 2  # the target and owner
    assert admin.email in theirs and f'<td data-label="Owner">{owner.email}</td>' in theirs
    assert f'<td data-label="Owner">(deleted user #{gone_id})</td>' in deleted
    assert f">{owner.id}</td>" not in page
    assert '<time datetime="' in newest
