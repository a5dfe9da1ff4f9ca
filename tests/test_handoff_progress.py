"""Progress handed over in a light worker's job goes with the job's outcome, in one round
trip (its worker applies nothing while the job runs); a work-horse's goes at once (its
worker shows it while the horse runs). Real Redis, in this process."""

import json

import pytest

from webapp.jobs import handoff


@pytest.fixture
def worker_list(app, redis):
    yield handoff.key_for("w-progress")
    handoff.end()


def _items(redis, key) -> list[tuple[str, list]]:
    return [(item["outcome"], item["args"])
            for item in map(json.loads, redis.lrange(key, 0, -1))]


def test_a_light_jobs_progress_goes_with_its_outcome(redis, worker_list):
    handoff.begin(redis, "w-progress", always=True)
    assert handoff.push(handoff.PROGRESS, "job1", [10, "first"])
    assert handoff.push(handoff.PROGRESS, "job1", [40, "second"])
    assert _items(redis, worker_list) == []  # held: nothing sent yet
    assert handoff.push("finished", "job1", [{"ok": True}])
    assert _items(redis, worker_list) == [("progress", [40, "second"]),
                                          ("finished", [{"ok": True}])]
    handoff.end()
    assert len(_items(redis, worker_list)) == 2  # nothing held was sent twice


def test_progress_held_when_a_light_job_ends_without_an_outcome_is_sent_then(redis,
                                                                             worker_list):
    handoff.begin(redis, "w-progress", always=True)
    handoff.push(handoff.PROGRESS, "job2", [70, "almost"],
                 along=lambda pipe: pipe.set("mirrored", "yes"))
    assert redis.get("mirrored") is None
    handoff.end()
    assert _items(redis, worker_list) == [("progress", [70, "almost"])]
    assert redis.get("mirrored") == b"yes"  # what `along` queued went in the same trip


def test_a_work_horses_progress_goes_at_once(redis, worker_list):
    handoff.begin(redis, "w-progress")
    assert handoff.push(handoff.PROGRESS, "job3", [5, "starting"])
    assert _items(redis, worker_list) == [("progress", [5, "starting"])]
