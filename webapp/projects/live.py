"""A project page's live part (webapp/live/regions.py): its render output ("p"), watched
while a render runs; when it changed, a poll sends the output block again out of band, and
the script editor too once a render that wrote the script is over."""

from __future__ import annotations

from flask import current_app, render_template
from jinja2_fragments.flask import render_blocks

from webapp.live.regions import Changes, Watched, job_tag, region, tag
from webapp.models import BackgroundJob, Project, User
from webapp.projects import renders
from webapp.projects.schemas import Limits
from webapp.projects.service import get_project

GONE = "This project no longer exists: it was deleted, or it is not yours to see."


def output_tag(summaries: list[renders.RenderSummary], video: BackgroundJob | None) -> str:
    """The tag of what the output block shows: its renders' stages and the video."""
    return tag((video.id if video else None,
                *((s.pipeline_id, *map(job_tag, s.stages)) for s in summaries)))


def output_context(project: Project) -> dict:
    """What the output block needs, and its tag."""
    summaries = renders.renders_of(project)
    video = renders.latest_video(project)
    return {"project": project, "renders": summaries, "video": video,
            "rendering": renders.active_render(project) is not None,
            "output_tag": output_tag(summaries, video)}


def wrote_script(summaries: list[renders.RenderSummary]) -> bool:
    """Whether the newest render began by writing the script."""
    return bool(summaries) and summaries[0].stages[0].task == renders.STAGES[0]


@region("p")
def outputs(user: User, watched: Watched) -> Changes:
    """The output block of the project, when it changed; a note if the project is gone."""
    for key, sent in watched.entries("p")[:1]:
        project = get_project(user, int(key)) if key.isdigit() and len(key) <= 10 else None
        if project is None:
            return Changes([render_template("projects/_gone.html", message=GONE, oob=True)])
        context = output_context(project)
        if context["output_tag"] == sent:
            return Changes([], context["rendering"])
        blocks = ["output"]
        if not context["rendering"] and wrote_script(context["renders"]):
            blocks.append("script_section")  # the render wrote it: show it in the editor
        html = render_blocks("projects/page.html", blocks, output_oob=True, oob_script=True,
                             errors={}, posted_scenes=None,
                             limits=Limits.from_config(current_app.config), **context)
        return Changes([html], context["rendering"])
    return Changes()
