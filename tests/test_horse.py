"""The worker's horse record, phase by phase, with real child processes standing in for
work-horses: a stop is never lost and never signals the caller's own process group."""

import os
import signal
import subprocess
import sys

from webapp.jobs.worker.horse import Horse


def _child(own_group: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            start_new_session=own_group)


def _horse(job_id: str = "job-1") -> Horse:
    horse = Horse()
    horse.begin(job_id)
    return horse


def test_with_no_horse_nothing_is_signalled():
    horse = _horse()
    assert horse.signal(signal.SIGKILL) is False  # RQ would have killed our own group here
    assert horse.request_stop("someone-else") == "not this worker's job"
    assert horse.stopped_job_id is None


def test_a_stop_before_the_fork_is_kept_and_kills_the_horse_once_its_pid_is_known():
    horse = _horse()
    assert horse.request_stop("job-1") == "no work-horse yet: stopped as it starts"
    assert horse.stop_requested() and horse.stopped_job_id == "job-1"
    child = _child(own_group=True)
    horse.forked(child.pid)
    assert child.wait(timeout=10) == -signal.SIGKILL


def test_a_running_horse_is_killed_with_its_group():
    horse = _horse()
    child = _child(own_group=True)
    horse.forked(child.pid)
    assert horse.request_stop("job-1") == "work-horse killed"
    assert child.wait(timeout=10) == -signal.SIGKILL


def test_a_horse_not_yet_in_a_group_of_its_own_is_signalled_alone():
    horse = _horse()
    child = _child(own_group=False)  # in our group, as a horse is until it calls setpgrp()
    horse.forked(child.pid)
    assert horse.signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL  # and this test process lives on


def test_after_the_horse_exited_a_stop_does_nothing():
    horse = _horse()
    child = _child(own_group=True)
    horse.forked(child.pid)
    child.terminate()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
    horse.exited()
    assert horse.request_stop("job-1") == "its work-horse had already ended"
    assert horse.stopped_job_id is None and not horse.signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGTERM


def test_a_new_job_forgets_the_last_ones_stop():
    horse = _horse("job-1")
    horse.request_stop("job-1")
    horse.end()
    horse.begin("job-1")  # the same job again, retried
    assert not horse.stop_requested()
