"""The RQ worker: CutroomWorker records every job's life in PostgreSQL (cutroom.py), stops
safely at any moment of a job's life (stops.py) and outlives Redis outages (outages.py);
its scheduler process dies with it (scheduler.py); its work-horses hand their outcomes to it
(drain.py). LightWorker runs short jobs without a work-horse (light.py)."""

from webapp.jobs.worker.cutroom import CutroomWorker
from webapp.jobs.worker.light import LightWorker

__all__ = ["CutroomWorker", "LightWorker"]
