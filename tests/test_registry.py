"""The task registry: one schema drives validation, the launch form and the API listing."""

import pytest
from pydantic import BaseModel
from werkzeug.datastructures import MultiDict

import webapp.tasks  # noqa: F401  (registers the tasks)
from webapp.dashboard.forms import form_fields, params_from_form
from webapp.jobs.registry import get_task, launchable_tasks, queue_names, task
from webapp.validation import ParamsError


def test_the_demo_tasks_are_registered():
    names = [t.name for t in launchable_tasks()]  # in registration order
    assert names[:3] == ["trigger-test", "countdown", "fail-test"]
    assert "default" in queue_names()
    assert get_task("fail-test").max_attempts == 3
    assert get_task("nope") is None


def test_defaults_fill_missing_parameters():
    assert get_task("countdown").validate({}) == {"steps": 10}
    assert get_task("trigger-test").validate({"message": "hi"}) == {"message": "hi"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 601}, "steps"),
        ({"steps": "ten"}, "steps"),
        ({"steps": 5, "speed": 2}, "speed"),
    ],
)
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ParamsError) as caught:
        get_task("countdown").validate(params)
    assert [d["field"] for d in caught.value.details] == [field]
    assert caught.value.details[0]["message"]


def test_parameters_must_be_an_object():
    with pytest.raises(ParamsError) as caught:
        get_task("countdown").validate([1, 2])
    assert caught.value.details[0]["field"] == "(body)"


def test_too_long_text_is_refused():
    with pytest.raises(ParamsError) as caught:
        get_task("trigger-test").validate({"message": "x" * 501})
    assert caught.value.details[0]["field"] == "message"


def test_launch_form_follows_the_schema():
    (steps,) = form_fields(get_task("countdown"))
    assert (steps.name, steps.kind, steps.minimum, steps.maximum, steps.default) == (
        "steps", "number", 1, 600, 10)
    fields = {f.name: f for f in form_fields(get_task("trigger-test"))}
    assert fields["message"].kind == "textarea"
    assert fields["message"].max_length == 500


def test_form_input_becomes_parameters():
    countdown = get_task("countdown")
    assert countdown.validate(params_from_form(countdown, MultiDict({"steps": "3"}))) == {
        "steps": 3}
    # An empty input falls back to the default rather than failing.
    assert countdown.validate(params_from_form(countdown, MultiDict({"steps": ""}))) == {
        "steps": 10}


def test_tasks_must_be_module_level_and_uniquely_named():
    class Params(BaseModel):
        pass

    def local():
        pass

    with pytest.raises(ValueError, match="module-level"):
        task("local-task", title="Local", params=Params)(local)
    with pytest.raises(ValueError, match="already registered"):
        task("countdown", title="Again", params=Params)(print)
    with pytest.raises(ValueError, match="lowercase"):
        task("Bad Name", title="Bad", params=Params)
