"""Creating, changing and deleting projects.

These flush and leave the commit to the caller (the request), so a change and its audit row
(written here, when an admin acts on someone else's project) commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from webapp import audit
from webapp.converters import MAX_INT4
from webapp.extensions import db
from webapp.media import service as media
from webapp.models import Project, User
from webapp.pagination import Page, paginate
from webapp.projects import renders
from webapp.projects.schemas import Limits, ThemeIn, parse_project
from webapp.quotas import QuotaExceeded, lock_user, quotas_for
from webapp.render import providers, storage
from webapp.stock.app import stock_problem
from webapp.validation import ParamsError
from webapp.video.captions import Captions


def get_project(user: User, project_id: int) -> Project | None:
    """The project if it exists and the user may see it, else None."""
    if not 0 < project_id <= MAX_INT4:  # a larger number names no row (and fails the query)
        return None
    project = db.session.get(Project, project_id)
    if project is None or (project.user_id != user.id and not user.is_admin):
        return None
    return project


def _limits() -> Limits:
    return Limits.from_config(current_app.config)


def defaults() -> dict[str, Any]:
    """Settings of a new project that does not say otherwise."""
    return {"format": "landscape-720", "voice": current_app.config["DEFAULT_VOICE"],
            "theme": ThemeIn().resolve(), "music_level": 0, "narration_speed": 1.0,
            "burn_subtitles": True, "captions": Captions().as_dict(), "stock_provider": "",
            "stock_kind": "picture"}


def create_project(user: User, data: Mapping[str, Any]) -> Project:
    """Validate and create a project; it needs a title, a topic or a script, and a voice
    that works here."""
    sent = parse_project(data, _limits())
    values = {**defaults(), **sent}
    problems = []
    if not values.get("title"):
        problems.append({"field": "title", "message": "A project needs a title."})
    if not values.get("topic") and not values.get("script"):
        problems.append({"field": "topic", "message": "Give a topic, or a script."})
    problems += voice_problems(values["voice"], chosen="voice" in sent)
    problems += media.script_problems(None, values.get("script"))
    problems += stock_problems(values["stock_provider"])
    if problems:
        raise ParamsError(problems)
    _check_room(user)
    project = Project(user_id=user.id, **values)
    db.session.add(project)
    db.session.flush()
    return project


def voice_problems(voice: str, chosen: bool = True) -> list[dict[str, str]]:
    """The validation error for a voice that cannot work here (its render would fail), if
    it is one; `chosen` False means it is the default, nobody picked it."""
    problem = providers.voice_problem(voice)
    if problem is None:
        return []
    if not chosen:
        problem = f"No voice was given, and the default one cannot be used. {problem}"
    return [{"field": "voice", "message": problem}]


def stock_problems(provider: str) -> list[dict[str, str]]:
    """The validation error for a stock provider that cannot work here (no key), if it is."""
    problem = stock_problem(provider) if provider else None
    return [{"field": "stock_provider", "message": problem}] if problem else []


def _check_room(user: User) -> None:
    """Refuse a project past the user's limit (counted under their lock, so parallel
    creates cannot pass it)."""
    lock_user(user.id)
    limit = quotas_for(user).max_projects
    count = db.session.scalar(select(func.count()).select_from(Project)
                              .where(Project.user_id == user.id)) or 0
    if count >= limit:
        raise QuotaExceeded("max_projects", f"You have {count} projects and may have at most "
                            f"{limit}: delete one to make room.")


def update_project(project: Project, data: Mapping[str, Any], actor: User) -> Project:
    """Apply the fields that were sent (PATCH semantics); nothing changes if they are bad.
    A voice is checked only when it changes: the one saved may stay while others change."""
    values = parse_project(data, _limits())
    topic, script = (values.get(name, getattr(project, name)) for name in ("topic", "script"))
    problems = []
    if not topic and not script:
        problems.append({"field": "topic", "message": "Keep a topic or a script."})
    if values.get("voice", project.voice) != project.voice:
        problems += voice_problems(values["voice"])
    if "script" in values:
        problems += media.script_problems(project, values["script"])
    if values.get("stock_provider", project.stock_provider) != project.stock_provider:
        problems += stock_problems(values["stock_provider"])
    if problems:
        raise ParamsError(problems)
    for name, value in values.items():
        setattr(project, name, value)
    if "script" in values:
        media.prune(project)  # the pictures and clips of removed scenes
    audit.admin_action(actor, "project.update", "project", project.id, project.user_id)
    db.session.flush()
    return project


def delete_project(project: Project, actor: User) -> None:
    """Stop its renders (each committed as it goes), then delete the project, its jobs and
    its files."""
    project_id = project.id
    renders.cancel_active(project)
    audit.admin_action(actor, "project.delete", "project", project_id, project.user_id,
                       title=project.title)
    db.session.delete(project)
    db.session.flush()
    storage.delete_project_media(project_id)


def list_projects(user: User, page: int = 1, per_page: int = 20) -> Page:
    """A page of the projects the user may see, newest first."""
    stmt = select(Project)
    if not user.is_admin:
        stmt = stmt.where(Project.user_id == user.id)
    return paginate(stmt.order_by(Project.created_at.desc(), Project.id.desc()), page, per_page)
