"""Fault injection for tests/test_handoff.py, loaded by Python at start-up in child
processes whose PYTHONPATH starts with this folder: right after a work-horse has handed
its `finished` outcome to the worker (webapp.jobs.handoff.push), CUTROOM_TEST_KILL says
who dies by SIGKILL: `horse` (the work-horse) or `worker` (its worker process, and with
it the horse)."""

import os
import signal

_WHO = os.environ.get("CUTROOM_TEST_KILL")

if _WHO in ("horse", "worker"):
    from webapp.jobs import handoff

    _push = handoff.push

    def push(name, job_id, args):
        handed = _push(name, job_id, args)
        if handed and name == "finished":
            os.kill(os.getppid() if _WHO == "worker" else os.getpid(), signal.SIGKILL)
        return handed

    handoff.push = push
