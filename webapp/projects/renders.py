"""Starting a render: one job per stage, chained with RQ dependencies, in outbox order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on

from webapp import audit
from webapp.extensions import db
from webapp.jobs import dispatch, idempotency, pipelines, service, transitions
from webapp.jobs.messages import error_detail
from webapp.jobs.registry import get_task
from webapp.models import ACTIVE_STATUSES, BackgroundJob, Project, User
from webapp.projects.schemas import Limits, parse_project
from webapp.quotas import check_submit_rate, quotas_for
from webapp.render import providers
from webapp.render.outputs import ASSEMBLE_VIDEO, STAGES
from webapp.validation import ParamsError
from webapp.video.script import Scene, estimated_seconds


class RenderConflict(Exception):
    """The project already has a render in progress (HTTP 409)."""


def active_render(project: Project) -> uuid.UUID | None:
    """The pipeline id of the project's unfinished render, if there is one."""
    return db.session.scalar(
        select(BackgroundJob.pipeline_id).where(
            BackgroundJob.project_id == project.id,
            BackgroundJob.pipeline_id.is_not(None),
            BackgroundJob.status.in_(sorted(ACTIVE_STATUSES)),
        ).limit(1)
    )


def _check_renderable(project: Project) -> tuple[str, ...]:
    """The stages this project needs; ParamsError when there is nothing to render, or when
    its voice cannot work here (it was saved when it could, or on another server)."""
    if problem := providers.voice_problem(project.voice):
        raise ParamsError([{"field": "voice", "message": f"{problem} Choose another voice "
                                                         "in the settings to render."}])
    if project.script:
        # Limits may have tightened since the script was saved.
        parse_project({"script": project.script}, Limits.from_config(current_app.config))
        return STAGES[1:]
    if project.topic:
        return STAGES
    raise ParamsError([{"field": "script", "message":
                        "The project has neither a script nor a topic to write one from."}])


def start_render(project: Project, user: User, idempotency_key: str | None = None
                 ) -> tuple[list[BackgroundJob], bool]:
    """Create and enqueue the stage jobs of one render; returns (them in order, replayed).

    With an idempotency key seen before, returns the stages of that earlier render. The
    project's row stays locked until the stages are committed, so of simultaneous requests
    exactly one starts a render and the others find it (409, or the replay of their key).
    """
    _lock(project)
    if idempotency_key and (earlier := idempotency.find(user, idempotency_key)):
        if earlier.pipeline_id is None or earlier.project_id != project.id:
            raise idempotency.KeyReused([{"field": idempotency.HEADER, "message":
                                          "This key was already used for a different request."}])
        return stages_of(earlier.pipeline_id), True
    stages = _check_renderable(project)
    if active_render(project) is not None:
        raise RenderConflict("This project is already rendering; wait for it or cancel it.")
    _check_length(project, user)
    check_submit_rate(user)
    dispatch.check_room(user)
    pipeline_id = uuid.uuid4()
    jobs = [
        BackgroundJob(task=name, queue=get_task(name).queue, params={"project_id": project.id},
                      user_id=user.id, project_id=project.id, pipeline_id=pipeline_id,
                      pipeline_step=step, status=transitions.CREATED)
        for step, name in enumerate(stages)
    ]
    jobs[0].idempotency_key = idempotency_key
    db.session.add_all(jobs)
    audit.admin_action(user, "project.render", "project", project.id, project.user_id)
    db.session.commit()
    dispatch.admit(jobs)
    return jobs, False


def _check_length(project: Project, user: User) -> None:
    """Refuse a script whose narration would pass the user's limit (checked again on the
    real audio by the narrate stage, for scripts written from a topic)."""
    if not project.script:
        return
    limit = quotas_for(user).max_render_seconds
    seconds = estimated_seconds([Scene(s["heading"], s["narration"]) for s in project.script]) \
        / project.narration_speed
    if seconds > limit:
        raise ParamsError([{"field": "script", "message":
                            f"The narration would last about {seconds / 60:.1f} minutes; "
                            f"renders may have at most {limit / 60:g} minutes of narration."}])


def _lock(project: Project) -> None:
    """Lock the project's row for this transaction: renders of one project start in turn."""
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())


def stages_of(pipeline_id: uuid.UUID) -> list[BackgroundJob]:
    return list(db.session.scalars(select(BackgroundJob)
                                   .where(BackgroundJob.pipeline_id == pipeline_id)
                                   .order_by(BackgroundJob.pipeline_step)))


@dataclass
class RenderSummary:
    """One render as people see it: its stages, an overall status and a line saying where
    it is or how it ended (`failed`: the line is an error; any other status: a note)."""

    pipeline_id: uuid.UUID
    stages: list[BackgroundJob]
    status: str
    message: str | None = None
    video: BackgroundJob | None = field(default=None)

    @property
    def failed(self) -> bool:
        return self.status == transitions.FAILED

    @property
    def started_at(self):
        """When the render was asked for (its first stage's row was created)."""
        return self.stages[0].created_at


def summarize(stages: list[BackgroundJob]) -> RenderSummary:
    """Overall status of one render from its stage jobs (ordered by step)."""
    first = stages[0]
    summary = RenderSummary(pipeline_id=first.pipeline_id, stages=stages,
                             status=transitions.QUEUED)
    statuses = [s.status for s in stages]
    for job in stages:
        title = pipelines.step_title(job.task)
        if job.is_failed:
            summary.status = job.status
            summary.message = f"The {title} stage failed: {error_detail(job) or 'no details'}"
            return summary
        if job.is_stopped:
            summary.status = job.status
            how = " on request" if job.stopped_on_request else ""
            summary.message = f"The render was stopped{how} during the {title} stage."
            return summary
    if transitions.CANCELED in statuses:
        summary.status, summary.message = transitions.CANCELED, "The render was canceled."
    elif all(s == transitions.FINISHED for s in statuses):
        summary.status, summary.video = transitions.FINISHED, stages[-1]
    elif transitions.STARTED in statuses or transitions.FINISHED in statuses:
        summary.status = transitions.STARTED
        current = next(j for j in stages if j.status != transitions.FINISHED)
        summary.message = (f"Rendering: {pipelines.step_title(current.task)}, stage "
                           f"{stages.index(current) + 1} of {len(stages)}.")
    else:
        summary.message = "Waiting for a worker."
    return summary


def renders_of(project: Project, limit: int = 5) -> list[RenderSummary]:
    """The project's latest renders, newest first."""
    ids = db.session.scalars(
        select(BackgroundJob.pipeline_id)
        .where(BackgroundJob.project_id == project.id, BackgroundJob.pipeline_id.is_not(None))
        .group_by(BackgroundJob.pipeline_id)
        .order_by(func.max(BackgroundJob.created_at).desc())
        .limit(limit)
    ).all()
    grouped = _stages_by_pipeline(ids)
    return [summarize(grouped[pid]) for pid in ids]


def _stages_by_pipeline(ids) -> dict[uuid.UUID, list[BackgroundJob]]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.pipeline_id.in_(ids))
        .order_by(BackgroundJob.pipeline_step)
    ).all()
    return {pid: [r for r in rows if r.pipeline_id == pid] for pid in ids}


def latest_renders(projects: list[Project]) -> dict[int, RenderSummary | None]:
    """Each project's newest render (None: never rendered), in two queries for them all."""
    latest = dict(db.session.execute(
        select(BackgroundJob.project_id, BackgroundJob.pipeline_id)
        .where(BackgroundJob.project_id.in_([p.id for p in projects]),
               BackgroundJob.pipeline_id.is_not(None))
        .ext(distinct_on(BackgroundJob.project_id))
        .order_by(BackgroundJob.project_id, BackgroundJob.created_at.desc())
    ).all()) if projects else {}
    grouped = _stages_by_pipeline(list(latest.values()))
    return {p.id: summarize(grouped[latest[p.id]]) if p.id in latest else None
            for p in projects}


def latest_videos(projects: list[Project]) -> dict[int, BackgroundJob | None]:
    """Each project's newest finished video (its assemble job), in one query."""
    rows = db.session.scalars(
        select(BackgroundJob)
        .where(BackgroundJob.project_id.in_([p.id for p in projects]),
               BackgroundJob.task == ASSEMBLE_VIDEO, BackgroundJob.status == transitions.FINISHED)
        .ext(distinct_on(BackgroundJob.project_id))
        .order_by(BackgroundJob.project_id, BackgroundJob.ended_at.desc())
    ).all() if projects else []
    found = {row.project_id: row for row in rows}
    return {p.id: found.get(p.id) for p in projects}


def latest_video(project: Project) -> BackgroundJob | None:
    """The assemble job of the project's newest finished render."""
    return db.session.scalar(
        select(BackgroundJob)
        .where(BackgroundJob.project_id == project.id, BackgroundJob.task == ASSEMBLE_VIDEO,
               BackgroundJob.status == transitions.FINISHED)
        .order_by(BackgroundJob.ended_at.desc())
        .limit(1)
    )


def cancel_active(project: Project) -> None:
    """Cancel or stop every unfinished job of the project (before deleting it)."""
    jobs = db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.project_id == project.id,
                                    BackgroundJob.status.in_(sorted(ACTIVE_STATUSES)))
        .order_by(BackgroundJob.pipeline_step)
    ).all()
    for job in jobs:
        try:
            service.cancel(job, None)  # the project's deletion is what is audited
        except service.JobConflict:
            continue  # it ended meanwhile
