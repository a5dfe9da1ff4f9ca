"""The RQ worker: CutroomWorker records every job's life in PostgreSQL (cutroom.py), stops
safely at any moment of a job's life (stops.py) and outlives Redis outages (outages.py);
its scheduler process dies with it (scheduler.py)."""

from webapp.jobs.worker.cutroom import CutroomWorker

__all__ = ["CutroomWorker"]
