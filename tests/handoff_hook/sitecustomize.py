"""Fault injection for tests/test_handoff.py, loaded by Python at start-up in child
processes whose PYTHONPATH starts with this folder: right after a job's
CUTROOM_TEST_KILL_AFTER event (`finished` unless set; or `started`) has been handed to
the worker's list (webapp.jobs.handoff), CUTROOM_TEST_KILL says who dies by SIGKILL:
`horse` (the work-horse), `worker` (the work-horse's worker process, and with it the
horse) or `self` (the process that pushed it: a light worker). A `started` is pushed by the
worker itself, which then dies (`worker` or `self`)."""

import os
import signal

_WHO = os.environ.get("CUTROOM_TEST_KILL")
_AFTER = os.environ.get("CUTROOM_TEST_KILL_AFTER", "finished")


def _kill() -> None:
    os.kill(os.getppid() if _WHO == "worker" else os.getpid(), signal.SIGKILL)


if _WHO in ("horse", "worker", "self"):
    from webapp.jobs import handoff

    _push, _push_started = handoff.push, handoff.push_started

    def push(name, job_id, args, **kwargs):
        handed = _push(name, job_id, args, **kwargs)
        if handed and name == _AFTER:
            _kill()
        return handed

    def push_started(*args, **kwargs):
        status = _push_started(*args, **kwargs)
        if _AFTER == "started":  # pushed by the worker itself, never by a horse
            os.kill(os.getpid(), signal.SIGKILL)
        return status

    handoff.push, handoff.push_started = push, push_started
