"""The OpenAPI document: valid OpenAPI 3.1, every route in it, and the real app conforming to
it under schemathesis (against PostgreSQL and Redis, inside the test's transaction)."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import make_job, make_token, make_user
from webapp import audit
from webapp.extensions import db
from webapp.jobs.registry import launchable_tasks
from webapp.models import Project, ReconcilerPass
from webapp.render import storage
from webapp.render.outputs import FILES
from webapp.storage import get_store

API = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# A value for each path parameter, to find which route a documented path is.
SAMPLES = {"job_id": str(uuid.uuid4()), "project_id": "1", "name": "video", "user_id": "1",
           "media_id": "1", "number": "1"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
MAX_EXAMPLES = 30  # per operation and mode: 68 runs, about 4,000 requests
# Operations that destroy the seeded objects run last, so the others still find them.
ORDER = {"GET": 0, "POST": 1, "PATCH": 2, "DELETE": 3}


@pytest.fixture
def document(client, db_session):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_served_without_credentials_even_with_a_bad_token(client, db_session):
    for headers in ({}, {"Authorization": "Bearer crt_wrong"}):
        response = client.get(f"{API}/openapi.json", headers=headers)
        assert response.status_code == 200 and response.is_json
        assert response.get_json()["openapi"] == "3.1.0"


def test_the_document_is_valid_openapi_3_1(document):
    schemathesis.openapi.from_dict(document).validate()
    for name, schema in document["components"]["schemas"].items():
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            raise AssertionError(f"components/schemas/{name}: {exc}") from None


def test_every_api_route_is_documented_and_nothing_else(app, document):
    """A route added without documenting it (or a stale path in the document) fails here."""
    adapter = app.url_map.bind("localhost")
    documented = set()
    for path, item in document["paths"].items():
        concrete = API + re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m[1]], path)
        for method in HTTP_METHODS & set(item):
            endpoint, _ = adapter.match(concrete, method=method.upper())
            documented.add((endpoint, method.upper()))
    routed = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(f"{API}/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    assert {f"/tasks/{t.name}" for t in launchable_tasks()} <= set(document["paths"])


def test_request_bodies_are_the_task_models_schemas(document):
    schemas = document["components"]["schemas"]
    for task in launchable_tasks():
        body = document["paths"][f"/tasks/{task.name}"]["post"]["requestBody"]
        assert body["required"] is False
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert schemas[ref.rsplit("/", 1)[1]] == task.params.model_json_schema()


def test_project_limits_come_from_the_configuration(app, document):
    schemas = document["components"]["schemas"]
    script = schemas["ProjectIn"]["properties"]["script"]["anyOf"][0]
    assert script["maxItems"] == app.config["MAX_SCENES"]
    scene = schemas["SceneIn"]["properties"]
    assert scene["narration"]["maxLength"] == app.config["MAX_SCENE_CHARS"]
    assert scene["heading"]["maxLength"] == app.config["MAX_HEADING_CHARS"]


def _seed(user, admin) -> dict[str, list]:
    """Objects for the fuzzing to find: a project, and jobs in several states, one with files."""
    project = Project(user_id=user.id, title="Tides", topic="The sea", format="landscape-720",
                      voice="silent", theme={}, music_level=0, burn_subtitles=True,
                      script=[{"heading": "Tides", "narration": "The moon pulls the sea."}])
    db.session.add(project)
    db.session.commit()
    output = storage.output_key(project.id, "video", "fuzz")
    for filename in FILES.values():
        get_store().put(f"{output}/{filename}", b"\0" * 4096)
    rendered = make_job(user, task="assemble-video", status="finished", project_id=project.id,
                        params={"project_id": project.id},
                        result={"output": output, "files": dict(FILES),
                                "duration": 1.5, "width": 1280, "height": 720, "size": 4096})
    jobs = [rendered,
            make_job(user, status="finished", result=["any", "json"]),
            make_job(user, status="failed", error="boom", error_code="exception"),
            make_job(user, status="canceled"),
            make_job(user, status="started", worker_name="nobody")]
    audit.admin_action(admin, "project.update", "project", project.id, user.id)
    # A reconciler pass that repaired and found something, for /consistency to report.
    db.session.add(ReconcilerPass(
        started_at=datetime.now(UTC), ended_at=datetime.now(UTC), repairs={"lost_failed": 1},
        disagreements=1, problems={"lost": 1}, sample=[{
            "job_id": str(jobs[-1].id), "row_status": "started", "rq_status": None,
            "kind": "lost"}]))
    db.session.commit()
    return {"job_id": [str(j.id) for j in jobs], "project_id": [project.id],
            "user_id": [user.id], "Range": ["bytes=0-1023", "bytes=9000-"]}


def _strategy(operation, mode, seeds):
    """Generated cases, and as many again with seeded values: ids of real objects, ranges."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    for location in ("path_parameters", "query", "headers"):
        names = {p.name for p in getattr(operation, location)}
        strategies += [operation.as_strategy(generation_mode=mode, **{location: {name: value}})
                       for name in sorted(names & set(seeds)) for value in seeds[name]]
    return st.one_of(strategies)


def _fuzz(operation, mode, seeds, headers, statuses: Counter) -> int:
    """Run one operation's examples and check each response; returns how many ran."""
    ran = 0

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, mode, seeds))
    def run(case):
        nonlocal ran
        ran += 1
        try:
            response = case.call(headers=headers, buffered=True)
        except Exception:
            statuses[500] += 1  # schemathesis re-raises what the app raised
            raise
        finally:
            # Production ends each request's session; a failed statement must not poison
            # the examples after it.
            db.session.rollback()
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()
    return ran


@pytest.mark.timeout(600)  # about 2,500 examples: 2 minutes on a quiet machine
def test_the_app_conforms_to_its_document_under_fuzzing(app, db_session, capsys, monkeypatch):
    """Every operation, positive and negative examples, as a user (and the audit log, user
    administration, metrics, the consistency numbers, queues and workers as an admin): no
    server error, and every status, content type, header and body as documented."""
    # Answer errors as production does (a 500), rather than raising them into the test.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    user, admin = make_user(), make_user(admin=True)
    as_user = {"Authorization": f"Bearer {make_token(user)}"}
    as_admin = {"Authorization": f"Bearer {make_token(admin)}"}
    seeds = _seed(user, admin)
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (ORDER.get(op.method.upper(), 1), op.path))
    runs = [(op, as_user) for op in operations]
    runs += [(op, as_admin) for op in operations
             if op.path in ("/audit", "/metrics", "/consistency")
             or op.path.startswith(("/users", "/queues", "/workers"))]
    statuses: Counter = Counter()
    failures, examples, started = [], 0, time.monotonic()
    try:
        for operation, headers in runs:
            for mode in schemathesis.GenerationMode:
                try:
                    examples += _fuzz(operation, mode, seeds, headers, statuses)
                # Collect them all, to report them together (schemathesis raises its failures
                # as a BaseExceptionGroup).
                except (Exception, FailureGroup) as exc:
                    failures.append(f"{operation.label} [{mode.value}]: {exc}")
    finally:
        storage.delete_project_media(seeds["project_id"][0])
    elapsed = time.monotonic() - started
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    with capsys.disabled():
        print(f"\nschemathesis {schemathesis.__version__}: {examples} examples, "
              f"{len(operations)} operations, {elapsed:.1f} s, {server_errors} server errors; "
              f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    assert server_errors == 0
    assert examples >= len(runs) * len(schemathesis.GenerationMode) * MAX_EXAMPLES
