"""Reading jobs, always scoped to what the caller may see: their own, or all for admins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import ACTIVE_STATUSES, BackgroundJob, User
from webapp.pagination import Page, paginate


def visible_jobs(user: User) -> Select:
    """SELECT of the jobs this user may see."""
    stmt = select(BackgroundJob)
    if not user.is_admin:
        stmt = stmt.where(BackgroundJob.user_id == user.id)
    return stmt


def get_job(user: User, job_id: uuid.UUID) -> BackgroundJob | None:
    """The job if it exists and the user may see it; None otherwise (callers answer 404)."""
    job = db.session.get(BackgroundJob, job_id)
    if job is None or (job.user_id != user.id and not user.is_admin):
        return None
    return job


def list_jobs(
    user: User,
    page: int = 1,
    per_page: int = 20,
    status: str | None = None,
    task: str | None = None,
    project_id: int | None = None,
) -> Page:
    """A page of the user's jobs, newest first, optionally filtered."""
    stmt = visible_jobs(user)
    if status:
        stmt = stmt.where(BackgroundJob.status == status)
    if task:
        stmt = stmt.where(BackgroundJob.task == task)
    if project_id is not None:
        stmt = stmt.where(BackgroundJob.project_id == project_id)
    stmt = stmt.options(selectinload(BackgroundJob.user)).order_by(
        BackgroundJob.created_at.desc(), BackgroundJob.id.desc())
    return paginate(stmt, page, per_page)


@dataclass(frozen=True)
class JobCounts:
    """How many jobs the user sees in all, and how many of them are not over yet."""

    total: int
    active: int


def job_counts(user: User) -> JobCounts:
    """One query: the user's jobs (all jobs for admins), and those still active."""
    stmt = select(func.count(), func.count().filter(BackgroundJob.status.in_(ACTIVE_STATUSES)))
    stmt = stmt.select_from(BackgroundJob)
    if not user.is_admin:
        stmt = stmt.where(BackgroundJob.user_id == user.id)
    total, active = db.session.execute(stmt).one()
    return JobCounts(total=total, active=active)
