"""rq-dashboard at /rq in a real headless Chromium, signed in as an admin.

Job parameters, results, errors and meta are user input: pages that show them must show the
text and run none of it. Its pages run under a CSP with a per-response nonce, so an inline
script or event handler that slipped through would be blocked as well.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from rq import Queue
from rq.job import Job

from tests.browser import sign_in, watch_problems
from tests.support import job_row, make_token, make_user, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Each shape tries to set window.__xss (one opens a dialog too, once); together they fit in
# the 500 characters a task message allows.
SHAPES = [
    "<img src=x onerror=window.__xss=/img/.source>",  # no quotes: survives call strings
    "<script>window.__xss=/scr/.source</script>",
    "\"><svg onload=window.__xss=/svg/.source>",
    "</script><script>window.__xss=/end/.source</script>",
    "</pre></div><img src=y onerror=window.__xss||(window.__xss=/dlg/.source,alert(1))>",
    "' autofocus onfocus=window.__xss='sq' x='",
    "\" autofocus onfocus=\"window.__xss='dq'\" x=\"",
    "<details open ontoggle=window.__xss=/det/.source>",
    "<iframe srcdoc=\"<script>parent.__xss=/ifr/.source</script>\"></iframe>",
    "<%= (window.__xss=/tpl/.source) %>",
]
PAYLOAD = "".join(SHAPES)
# What a page must show as text: proof the payload was escaped, not dropped. RQ cuts each
# argument in a job's description (call string) after 75 characters, so lists and the
# workers page show only the first shape; job pages show the whole result, error and meta.
START = ("<img src=x onerror=",)
WHOLE = (*START, "<svg onload=", "<script>window.__xss=", "ontoggle=window.__xss=")
REGISTRIES = ("queued", "deferred", "scheduled", "started", "finished", "failed", "canceled")


@pytest.fixture
def fast_polling(secure_app, monkeypatch):
    """rq-dashboard's pages poll every half second instead of 2.5."""
    monkeypatch.setitem(secure_app.config, "RQ_DASHBOARD_POLL_INTERVAL", 500)


@pytest.fixture
def api(secure_app, live_db):
    """A signed-up user's API client (a bearer token, so no CSRF token is needed)."""
    client = secure_app.test_client()
    # Many jobs in RQ at once, none held back by fair sharing.
    headers = {"Authorization": f"Bearer {make_token(make_user(max_running_jobs=100))}"}

    def call(method: str, path: str, **kwargs):
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def _submit(api, task: str, **params) -> str:
    response = api("POST", f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _until(job_id: str, *statuses: str, timeout: float = 60):
    return wait_for(lambda: (row := job_row(job_id)).status in statuses and row,
                    timeout=timeout, message=f"job {job_id} to become {statuses}")


def _hostile_jobs(api, redis) -> dict[str, str]:
    """Jobs carrying the payload in every field /rq shows, one in each registry."""
    ids = {"finished": _submit(api, "trigger-test", message=PAYLOAD)}
    _until(ids["finished"], "finished")
    ids["failed"] = _submit(api, "fail-test", message=PAYLOAD)
    _until(ids["failed"], "failed")
    # Runs for minutes, so it is the worker's current job and the next ones wait.
    ids["started"] = _submit(api, "fail-test", message=PAYLOAD, pause=300)
    # Once its progress is in PostgreSQL, the task has written its meta: ours stays.
    wait_for(lambda: job_row(ids["started"]).stage == "Attempt 1", timeout=60,
             message="the running job to report its progress")
    ids["queued"] = _submit(api, "trigger-test", message=PAYLOAD)
    ids["canceled"] = _submit(api, "trigger-test", message=PAYLOAD)
    assert api("POST", f"/api/v1/jobs/{ids['canceled']}/cancel").status_code == 200
    # Straight through RQ: a description that is the raw payload (no call-string quoting).
    queue = Queue("default", connection=redis)
    ids["deferred"] = queue.enqueue("builtins.print", PAYLOAD, description=PAYLOAD,
                                    depends_on=ids["started"]).id
    ids["scheduled"] = queue.enqueue_in(timedelta(hours=1), "builtins.print", PAYLOAD,
                                        description=PAYLOAD).id
    for job_id in ids.values():
        job = Job.fetch(job_id, connection=redis)
        job.meta.update({"note": PAYLOAD, PAYLOAD: "a key too"})
        job.save_meta()
    return ids


def _look(page, url: str, rendered: str, must_show: tuple[str, ...] = ()) -> list[str]:
    """Open a page, wait until its polling rendered `rendered` and polled once more; what
    went wrong there."""
    page.goto(url, wait_until="domcontentloaded")
    found = []
    try:
        page.wait_for_selector(rendered, state="attached", timeout=15_000)
        if must_show:
            wait_for(lambda: must_show[0] in page.inner_text("body"), timeout=10,
                     message=f"the payload as text on {url}")
        # One more poll answered: handlers of the first render (onerror, onload) had their
        # turn.
        with page.expect_response(lambda r: "/data/" in r.url, timeout=15_000):
            pass
    except (AssertionError, PlaywrightTimeout) as exc:
        found.append(f"{url}: {str(exc).splitlines()[0]}")
    if (probe := page.evaluate("window.__xss")) is not None:
        found.append(f"{url}: a payload ran ({probe!r})")
    text = page.inner_text("body")
    found += [f"{url}: {piece!r} is not shown as text" for piece in must_show
              if piece not in text]
    return found


@pytest.mark.timeout(300)
def test_no_payload_runs_on_any_rq_page_and_each_shows_it_as_text(
        server, worker, browser, api, redis, fast_polling):
    ids = _hostile_jobs(api, redis)
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    problems = watch_problems(page)
    sign_in(page, server, make_user(admin=True))
    rq = f"{server}/rq/0/view"
    found = _look(page, f"{rq}/queues", "tr[data-role=queue]")
    for registry in REGISTRIES:
        found += _look(page, f"{rq}/jobs/default/{registry}/8/asc/1", "tr[data-role=job]",
                       START)
    for job_id in ids.values():
        found += _look(page, f"{rq}/job/{job_id}", "#job-data strong", WHOLE)
    found += _look(page, f"{rq}/workers", f"tr[data-role=worker] a[href$='{ids['started']}']",
                   START)
    # Its template escapes the description in this title itself: it must not read "&lt;".
    title = page.locator("tr[data-role=worker] td[title*='Job ID']").get_attribute("title")
    assert START[0] in title and "&lt;" not in title, title
    assert found == [], "\n".join(found)
    assert dialogs == []
    assert problems == []


def test_its_pages_allow_only_their_own_scripts(server, browser):
    """Inline script or an event handler that got into the page anyway is blocked."""
    page = browser.new_page()
    sign_in(page, server, make_user(admin=True))
    response = page.goto(f"{server}/rq/0/view/queues")
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
    page.wait_for_selector("tr[data-role=queue], #queues td")
    violations = page.evaluate("""() => new Promise(resolve => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
        const box = document.createElement('div');
        box.innerHTML = "<img src=x onerror=\\"window.__xss='handler'\\">";
        document.body.append(box);
        window.jQuery('body').append("<script>window.__xss='jquery'<\\/script>");
        const done = () => setTimeout(() => resolve(seen), 200);
        box.querySelector('img').addEventListener('error', done);
    })""")
    assert page.evaluate("window.__xss") is None
    assert any(v.startswith("script-src") for v in violations), violations


def test_the_pages_render_and_their_buttons_work(server, worker, browser, api, fast_polling):
    from playwright.sync_api import expect

    failed = _submit(api, "fail-test", message="plain failure")
    finished = _submit(api, "trigger-test", message="plain message")
    _until(failed, "failed")
    _until(finished, "finished")
    page = browser.new_page()
    problems = watch_problems(page)
    sign_in(page, server, make_user(admin=True))
    rq = f"{server}/rq/0/view"
    page.goto(f"{rq}/queues")
    expect(page.locator("tr[data-role=queue]")).to_contain_text("default")
    page.goto(f"{rq}/workers")
    expect(page.locator("tr[data-role=worker]")).to_contain_text(worker.name)
    page.goto(f"{rq}/jobs/default/failed/8/asc/1")
    expect(page.locator("tr[data-role=job]")).to_contain_text("plain failure")

    page.goto(f"{rq}/job/{failed}")
    expect(page.locator("#job-data pre.exc_info")).to_contain_text("RuntimeError: plain failure")
    page.click("#requeue-job-btn")
    wait_for(lambda: job_row(failed).attempt > 3, timeout=60,
             message="the requeued job to run again")

    page.goto(f"{rq}/jobs/default/finished/8/asc/1")
    row = page.locator(f"tr[data-job-id='{finished}']")
    expect(row).to_contain_text("plain message")
    row.locator("[data-role=delete-job-btn]").click()
    page.click("#confirmation-modal-yes")
    expect(row).to_have_count(0)
    wait_for(lambda: _gone(finished), timeout=30, message="the deleted job's row to go")
    assert problems == []


def _gone(job_id: str) -> bool:
    from webapp.extensions import db
    from webapp.models import BackgroundJob

    db.session.expire_all()
    return db.session.get(BackgroundJob, job_id) is None
