"""Every error shows where the user is looking, in a real Chromium with JavaScript on and off.

With JavaScript, htmx swaps each refusal in where the request came from: the sign-in form
with its message beside the field, a card's refusal in the card, the launch form with its
errors, and anything else (a stale CSRF token, a session that ended, no access, a card of a
deleted job gone) in the page's alert region or in place of what went away. Without it, the
page the form returns says the same, under the same status code.
"""

from __future__ import annotations

import pytest

from tests.browser import Watch, open_test_tasks, sign_in
from tests.support import PASSWORD, make_job, make_user
from webapp.sessions import revoke_all_sessions

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def js(request) -> bool:
    return request.param


@pytest.fixture
def page(browser, js):
    context = browser.new_context(java_script_enabled=js)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def watch(page):
    """What the page reports; each test allows the error status it provokes."""
    return Watch(page)


def _answer(page, path: str, act) -> int:
    """The status of the POST to `path` that `act()` makes (htmx's, or the form's), once the
    page it leads to has loaded."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(path)
                              ) as answer:
        act()
    page.wait_for_load_state()
    return answer.value.status


def _alert(page, js: bool, where: str = "#flash"):
    """Where a refusal shows: htmx puts it in `where`, a plain page anywhere in <main>."""
    return page.locator(f"{where} [role=alert]" if js else "main [role=alert]")


def _try_to_sign_in(page, server: str, email: str, password: str) -> int:
    if not page.url.endswith("/login"):
        page.goto(f"{server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    return _answer(page, "/login", lambda: page.click("button:has-text('Sign in')"))


def _message_beside_the_password(page, wrong: bool = False):
    """The refusal the password field names as its description; the field has the focus."""
    from playwright.sync_api import expect

    field = page.locator("input[name=password]")
    described = field.get_attribute("aria-describedby")
    assert described, "the password field names no message"
    message = page.locator(f"#{described}")
    expect(message).to_have_attribute("role", "alert")
    expect(field).to_be_focused()
    if wrong:
        expect(field).to_have_attribute("aria-invalid", "true")
    return message


def test_a_wrong_password_is_said_beside_the_field(page, watch, server):
    from playwright.sync_api import expect

    user = make_user()
    watch.allow(401, "/login")
    assert _try_to_sign_in(page, server, user.email, "not the password") == 401
    expect(_message_beside_the_password(page, wrong=True)).to_have_text("Wrong email or password.")
    watch.assert_clean()


def test_too_many_sign_in_attempts_are_said_beside_the_field(page, watch, server):
    from playwright.sync_api import expect

    user = make_user()
    watch.allow(401, "/login")
    watch.allow(429, "/login")
    statuses = [_try_to_sign_in(page, server, user.email, "not the password") for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    expect(_message_beside_the_password(page)).to_contain_text("Too many sign-in attempts")
    watch.assert_clean()


def test_a_stale_sign_in_form_comes_back_ready_to_use(page, watch, server):
    from playwright.sync_api import expect

    user = make_user()
    watch.allow(400, "/login")
    page.goto(f"{server}/login")
    page.context.clear_cookies()  # the cookie session, and the form's token with it, are gone
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    assert _answer(page, "/login", lambda: page.click("button:has-text('Sign in')")) == 400
    expect(_message_beside_the_password(page)).to_contain_text("sign in again")
    expect(page.locator("input[name=email]")).to_have_value(user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".who")).to_contain_text(user.email)
    watch.assert_clean()


def _card_with_retry(page, server: str, user):
    """A failed job's card on the home page, and the job."""
    from playwright.sync_api import expect

    job = make_job(user, status="failed", error="boom", attempt=1)
    sign_in(page, server, user)
    page.goto(f"{server}/")
    card = page.locator(f"#job-{job.id}")
    expect(card.locator("button:has-text('Retry')")).to_be_visible()
    return card, job


def _retry(page, card, job) -> int:
    return _answer(page, f"/jobs/{job.id}/retry",
                   lambda: card.locator("button:has-text('Retry')").click())


def test_a_stale_security_token_is_explained(page, watch, js, server):
    from playwright.sync_api import expect

    card, job = _card_with_retry(page, server, make_user())
    watch.allow(400, f"/jobs/{job.id}/retry")
    page.context.clear_cookies()
    assert _retry(page, card, job) == 400
    expect(_alert(page, js)).to_contain_text("security token")
    if js:
        expect(card).to_be_visible()  # the page stays as it was
    watch.assert_clean()


def test_a_session_that_ended_elsewhere_is_explained(page, watch, js, server, live_db):
    from playwright.sync_api import expect

    user = make_user()
    card, job = _card_with_retry(page, server, user)
    watch.allow(401, f"/jobs/{job.id}/retry")
    revoke_all_sessions(user)  # "sign out everywhere" from another browser
    live_db.commit()
    assert _retry(page, card, job) == 401
    alert = _alert(page, js)
    expect(alert).to_contain_text("signed out")
    link = alert.locator("a:has-text('Sign in')")
    assert link.get_attribute("href").startswith("/login?next=")
    watch.assert_clean()


def test_an_admin_action_by_someone_no_longer_admin_is_refused_visibly(page, watch, js, server,
                                                                        live_db):
    from playwright.sync_api import expect

    admin = make_user(admin=True)
    sign_in(page, server, admin)
    page.goto(f"{server}/admin/users")
    form = page.locator("form.limits-form").first
    action = form.get_attribute("action")
    watch.allow(403, action)
    admin.is_admin = False  # another admin took the role away meanwhile
    live_db.commit()
    form.locator("input[name=max_running_jobs]").fill("3")
    assert _answer(page, action, lambda: form.locator("button[type=submit]").click()) == 403
    expect(_alert(page, js)).to_contain_text("You do not have access")
    if js:
        expect(form.locator("input[name=max_running_jobs]")).to_have_value("3")
    watch.assert_clean()


def test_a_card_of_a_deleted_job_says_so(page, watch, js, server, live_db):
    from playwright.sync_api import expect

    card, job = _card_with_retry(page, server, make_user())
    watch.allow(404, f"/jobs/{job.id}/retry")
    live_db.delete(job)  # deleted from another tab, or by an admin
    live_db.commit()
    assert _retry(page, card, job) == 404
    if js:
        gone = page.locator("#job-list [role=alert]")
        expect(gone).to_contain_text("no longer exists")
        expect(page.locator(f"#job-{job.id}")).to_have_count(0)
    else:
        expect(_alert(page, js)).to_contain_text("no longer exists")
    watch.assert_clean()


def test_a_refused_card_action_is_said_in_the_card(page, watch, js, server, live_db):
    from playwright.sync_api import expect

    card, job = _card_with_retry(page, server, make_user())
    watch.allow(409, f"/jobs/{job.id}/retry")
    job.status = "finished"  # it changed state since the page was shown
    live_db.commit()
    status = _retry(page, card, job)
    if js:
        assert status == 409
        expect(card.locator("[role=alert]")).to_have_text("A finished job cannot be retried.")
    else:
        assert status == 303  # back to the page it came from, the refusal on it
        expect(page.locator(".flash-error")).to_have_text("A finished job cannot be retried.")
    watch.assert_clean()


def test_a_launch_with_bad_parameters_marks_the_field(page, watch, server):
    from playwright.sync_api import expect

    sign_in(page, server, make_user())
    watch.allow(422, "/jobs")
    open_test_tasks(page)
    form = page.locator("#launch-countdown")
    form.locator("input[name=steps]").fill("9999")
    assert _answer(page, "/jobs", lambda: form.locator("button[type=submit]").click()) == 422
    field = page.locator("#launch-countdown .field.has-error")
    expect(field.locator("input[name=steps]")).to_have_value("9999")
    expect(field.locator(".error")).to_contain_text("600")
    watch.assert_clean()
