"""Signing in and out, accounts and API tokens, and the account commands."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support import PASSWORD, login, make_token, make_user
from webapp.auth.services import (
    AccountError,
    check_password,
    create_user,
    revoke_token,
    user_for_token,
)
from webapp.extensions import db
from webapp.models import ApiToken, User, UserSession
from webapp.sessions import start_session


def test_pages_need_a_signed_in_user(client, db_session):
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_in_then_out(client, db_session):
    user = make_user()
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD,
                                           "next": "/jobs/whatever"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/jobs/whatever"
    assert user.email in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 303


def test_wrong_password_is_refused(client, db_session):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(client, db_session, target):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "next": target})
    assert response.headers["Location"] == "/"


def test_passwords_are_hashed_with_scrypt(db_session):
    user = make_user()
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("no-at-sign", "long enough pw", "not an email"), ("a@b.c", "short", "at least 8")],
)
def test_bad_accounts_are_refused(db_session, email, password, message):
    with pytest.raises(AccountError, match=message):
        create_user(email, password)


def test_duplicate_email_is_refused_case_insensitively(db_session):
    user = make_user()
    with pytest.raises(AccountError, match="already exists"):
        create_user(user.email.upper(), PASSWORD)


def test_tokens_are_stored_hashed_and_can_be_revoked(db_session):
    user = make_user()
    secret = make_token(user, "ci")
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert secret not in (token.token_hash, token.prefix) and secret.startswith(token.prefix)
    assert user_for_token(secret).id == user.id
    assert token.last_used_at is not None
    revoke_token(token)
    db.session.commit()
    assert user_for_token(secret) is None
    assert user_for_token("crt_not-a-token") is None


def test_cli_creates_accounts(runner, db_session):
    result = runner.invoke(args=["users", "create", "Cli@Example.com", "--password",
                                 "s3cret-pass", "--admin"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "cli@example.com"))
    assert user.is_admin
    again = runner.invoke(args=["users", "create", "cli@example.com", "--password", "x" * 9])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_cli_token_is_alone_on_the_last_line(runner, db_session, client):
    user = make_user()
    result = runner.invoke(args=["tokens", "create", user.email, "--name", "deploy"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("crt_") and " " not in secret
    response = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    missing = runner.invoke(args=["tokens", "create", "nobody@example.com"])
    assert missing.exit_code != 0 and "No account" in missing.output


def test_bootstrap_admin_only_when_there_are_no_accounts(runner, db_session):
    db.session.execute(User.__table__.delete())
    result = runner.invoke(args=["users", "bootstrap-admin", "--email", "boss@example.com"])
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output and "password:" in result.output
    password = result.output.split("password:")[1].split()[0]
    client = runner.app.test_client()
    login_response = client.post("/login", data={"email": "boss@example.com",
                                                 "password": password})
    assert login_response.status_code == 303
    again = runner.invoke(args=["users", "bootstrap-admin"])
    assert "accounts exist already" in again.output



def _change_password(client, current: str, new: str, confirm: str | None = None):
    return client.post("/settings/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def test_a_password_change_names_the_field_at_fault(client, db_session):
    user = make_user()
    login(client, user)
    short = _change_password(client, PASSWORD, "short")
    assert short.status_code == 422
    assert "New password: The password must have at least 8" in short.get_data(as_text=True)
    differ = _change_password(client, PASSWORD, "long enough one", "long enough two")
    assert differ.status_code == 422
    assert "New password again: The two new passwords differ." in differ.get_data(as_text=True)
    wrong = _change_password(client, "not my password", "long enough one")
    assert wrong.status_code == 422
    assert "Current password: That is not your current password." in wrong.get_data(
        as_text=True)
    assert check_password(user, PASSWORD)
    assert client.get("/").status_code == 200  # nothing changed, still signed in


def test_password_change_attempts_are_throttled(client, db_session):
    user = make_user()
    login(client, user)
    codes = [_change_password(client, f"guess {i}", "long enough one").status_code
             for i in range(6)]
    assert codes == [422] * 5 + [429]
    refused = _change_password(client, PASSWORD, "long enough one")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert check_password(user, PASSWORD)


def _session_of(user) -> int:
    record, _ = start_session(user, timedelta(hours=1), "192.0.2.1", "elsewhere")
    db.session.commit()
    return record.id


def test_unknown_or_out_of_range_session_ids_are_404(client, db_session):
    theirs = make_user()
    their_session = _session_of(theirs)
    login(client, make_user())
    for session_id in (99999999999, 12345, their_session):
        assert client.post(f"/settings/sessions/{session_id}/revoke").status_code == 404
    assert client.get("/").status_code == 200
    assert db.session.get(UserSession, their_session).revoked_at is None


def test_cli_set_password(runner, db_session):
    user = make_user()
    changed = runner.invoke(args=["users", "set-password", user.email.upper(), "--password",
                                  "a new long password"])
    assert changed.exit_code == 0, changed.output
    assert check_password(user, "a new long password")
    short = runner.invoke(args=["users", "set-password", user.email, "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
    missing = runner.invoke(args=["users", "set-password", "nobody@example.com",
                                  "--password", "a new long password"])
    assert missing.exit_code != 0 and "No account" in missing.output
