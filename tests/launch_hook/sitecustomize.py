"""Fault injection for tests/test_e2e_jobs.py, loaded by Python at start-up in child
processes whose PYTHONPATH starts with this folder: with CUTROOM_TEST_SLOW_LAUNCH set
(seconds), a worker waits that long after recording a job's `started`, before RQ prepares
its execution and forks the work-horse, so a signal can be sent in that moment."""

import os
import time

_DELAY = float(os.environ.get("CUTROOM_TEST_SLOW_LAUNCH") or 0)

if _DELAY:
    from rq.worker.base import BaseWorker

    _prepare = BaseWorker.prepare_execution

    def prepare_execution(self, *args, **kwargs):
        time.sleep(_DELAY)
        return _prepare(self, *args, **kwargs)

    BaseWorker.prepare_execution = prepare_execution
