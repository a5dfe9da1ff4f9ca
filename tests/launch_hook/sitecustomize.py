"""Fault injection for tests/test_e2e_jobs.py, loaded by Python at start-up in child
processes whose PYTHONPATH starts with this folder, so that a signal or a cancel can be
sent in a moment of a job's start that is otherwise a few milliseconds long:

- CUTROOM_TEST_SLOW_START (seconds): a worker that has popped a job waits that long
  before it hands the job's `started` over (webapp.jobs.handoff.push_started);
- CUTROOM_TEST_SLOW_LAUNCH (seconds): it waits that long after handing `started` over,
  before RQ prepares the job's execution and forks the work-horse."""

import os
import time

_START = float(os.environ.get("CUTROOM_TEST_SLOW_START") or 0)
_DELAY = float(os.environ.get("CUTROOM_TEST_SLOW_LAUNCH") or 0)

if _START:
    from webapp.jobs import handoff

    _push_started = handoff.push_started

    def push_started(*args, **kwargs):
        time.sleep(_START)
        return _push_started(*args, **kwargs)

    handoff.push_started = push_started

if _DELAY:
    from rq.worker.base import BaseWorker

    _prepare = BaseWorker.prepare_execution

    def prepare_execution(self, *args, **kwargs):
        time.sleep(_DELAY)
        return _prepare(self, *args, **kwargs)

    BaseWorker.prepare_execution = prepare_execution
