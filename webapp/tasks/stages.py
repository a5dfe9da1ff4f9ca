"""What the render pipeline's stages share: their parameters, their error, reading the
project and its script, an earlier stage's result, reuse notes, the narration limit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from webapp.extensions import db
from webapp.jobs import TaskError, progress
from webapp.jobs.context import current_job_row
from webapp.models import FINISHED, BackgroundJob, Project, User
from webapp.quotas import quotas_for
from webapp.video.script import Scene
from webapp.video.themes import Theme, theme_of


class StageError(TaskError):
    """A stage cannot do its work; the message says why and what to do (shown as it is)."""


class StageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: int = Field(ge=1)


def load_project(project_id: int) -> Project:
    """The stage's project; StageError when it was deleted."""
    project = db.session.get(Project, project_id)
    if project is None:
        raise StageError(f"Project {project_id} no longer exists.")
    return project


def scenes_of(project: Project) -> list[Scene]:
    """The project's script as scenes; StageError when it has none."""
    if not project.script:
        raise StageError("The project has no script.")
    return [Scene(heading=s["heading"], narration=s["narration"]) for s in project.script]


def sibling_result(task_name: str) -> dict:
    """The result of an earlier stage of this render."""
    row = current_job_row()
    result = db.session.scalar(
        select(BackgroundJob.result).where(BackgroundJob.pipeline_id == row.pipeline_id,
                                           BackgroundJob.task == task_name,
                                           BackgroundJob.status == FINISHED))
    if not result:
        raise StageError(f"The {task_name} stage of this render has no output.")
    return result


def reused(kind: str, output: str, manifest: dict) -> dict:
    """A stage's result when its output for these inputs exists already."""
    progress(100, f"Reused: the {kind} inputs did not change", force=True)
    return {"output": output, "reused": True, **manifest.get("summary", {})}


def reuse_note(result: dict) -> str:
    """What a stage's description adds when it reused its output."""
    return " (reused: inputs unchanged)" if result.get("reused") else ""


def check_length(seconds: float, verb: str) -> None:
    """The render's owner may have at most so many seconds of narration per render."""
    row = current_job_row()
    owner = db.session.get(User, row.user_id) if row else None
    limit = quotas_for(owner).max_render_seconds if owner else None
    if limit is not None and seconds > limit:
        raise StageError(f"The narration {verb} {seconds / 60:.1f} minutes; renders may have "
                         f"at most {limit / 60:g} minutes of narration (an admin can raise "
                         "your limit).")


def theme_for(project: Project) -> Theme:
    """The project's theme, resolved."""
    return theme_of(project.theme)
