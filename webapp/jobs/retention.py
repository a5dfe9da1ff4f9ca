"""The reconciler's housekeeping: scratch folders that killed stages left behind, old rows
past their retention (jobs, ended sign-in sessions, the reconciler's own history), Redis's
copy of the paused queues, and the record of each pass.

A mixin of webapp.jobs.reconcile.Pass, whose `config`, `redis`, `now`, `ago`, `counts`
and `repaired` it uses.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import DBAPIError

from webapp.extensions import db
from webapp.jobs import history, pauses, scratch, transitions
from webapp.models import ACTIVE_STATUSES, BackgroundJob
from webapp.sessions import prune_sessions

log = logging.getLogger("webapp.jobs.reconcile")

PRUNE_BATCH = 5000
PRUNE_BATCHES_PER_PASS = 20


class Housekeeping:
    """Steps 7, 8 and 10 of a reconciliation pass, and its record."""

    def mirror_pauses(self) -> None:
        """Redis lost (or gained) a queue pause that PostgreSQL does not agree with."""
        added, removed = pauses.mirror(self.redis)
        db.session.commit()
        for name in sorted(added):
            self.repaired("pause_mirrored", f"queue {name}", "paused; Redis had lost it")
        for name in sorted(removed):
            self.repaired("pause_unmirrored", f"queue {name}", "not paused in PostgreSQL")

    def sweep_scratch_folders(self) -> None:
        """Scratch folders that work-horses killed or stopped mid-stage left behind."""
        for path, job_id in scratch.leftovers(Path(self.config["MEDIA_ROOT"]), _active):
            scratch.remove(path)
            self.repaired("scratch_swept", job_id or "-", f"removed {path}")

    def prune(self) -> None:
        """Delete old final rows that belong to no project (project renders stay), in
        batches: each DELETE stays well inside the statement timeout however many rows have
        piled up, and a long backlog is worked off over several passes."""
        finished = (transitions.FINISHED, transitions.CANCELED, transitions.STOPPED)
        old = select(BackgroundJob.id).where(
            BackgroundJob.project_id.is_(None),
            or_(and_(BackgroundJob.status.in_(finished),
                     BackgroundJob.ended_at < self.ago(self.config["RETAIN_DAYS"] * 86400)),
                and_(BackgroundJob.status == transitions.FAILED,
                     BackgroundJob.ended_at < self.ago(
                         self.config["RETAIN_FAILED_DAYS"] * 86400)))).limit(PRUNE_BATCH)
        pruned = 0
        for _ in range(PRUNE_BATCHES_PER_PASS):
            deleted = db.session.execute(
                delete(BackgroundJob).where(BackgroundJob.id.in_(old.scalar_subquery()))
            ).rowcount
            db.session.commit()
            pruned += deleted
            if deleted < PRUNE_BATCH:
                break
        if ended := prune_sessions(self.now):  # and sign-in sessions that ended days ago
            self.counts["sessions_pruned"] += ended
        history.prune(self.now)
        db.session.commit()
        if pruned:
            log.info("reconciler: pruned %d old job rows", pruned)
            self.counts["pruned"] += pruned

    def record_pass(self, broke_off: str | None) -> None:
        """The pass's row in the history, with what the doctor finds now; a pass PostgreSQL
        cannot record is only logged (the panel then shows the reconciler as stale)."""
        try:
            history.record(self.redis, self.now, self.counts, broke_off=broke_off)
            db.session.commit()
        except DBAPIError:
            db.session.rollback()
            log.warning("reconciler: could not record the pass in PostgreSQL")


def _active(job_ids: set[str]) -> set[str]:
    """Which of these jobs are not final (a live stage may be writing their folders)."""
    stmt = select(BackgroundJob.id).where(BackgroundJob.id.in_(job_ids),
                                          BackgroundJob.status.in_(ACTIVE_STATUSES))
    return {str(job_id) for job_id in db.session.scalars(stmt)}
