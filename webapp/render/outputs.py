"""The render's output contract: its stages in order, the files the last stage makes and
their media types.

The tasks that make them (webapp/tasks/video.py, webapp/tasks/pictures.py), the render's
bookkeeping (webapp/projects/renders.py), the API and pages that link them and the endpoints
that serve them (webapp/render/files.py) all read it from here.
"""

from __future__ import annotations

from webapp.models import FINISHED, BackgroundJob

WRITE_SCRIPT = "write-script"
NARRATE = "narrate"
RENDER_SCENES = "render-scenes"
ASSEMBLE_VIDEO = "assemble-video"
# In order; a project that has a script starts at NARRATE.
STAGES = (WRITE_SCRIPT, NARRATE, RENDER_SCENES, ASSEMBLE_VIDEO)

# The files of a finished render, by the name its URLs use.
FILES = {"video": "video.mp4", "srt": "subtitles.srt", "vtt": "subtitles.vtt",
         "thumbnail": "thumbnail.png"}
MIMETYPES = {"video": "video/mp4", "srt": "application/x-subrip", "vtt": "text/vtt",
             "thumbnail": "image/png"}


def files_of(job: BackgroundJob) -> dict[str, str]:
    """{name: file name} of the files a finished job's result names; {} for any other job.

    A result is any JSON, so only plain file names are taken (no folders, no dot files).
    """
    result = job.result if isinstance(job.result, dict) else {}
    names = result.get("files") if job.status == FINISHED else None
    if not isinstance(names, dict):
        return {}
    return {name: filename for name, filename in names.items()
            if isinstance(name, str) and isinstance(filename, str) and filename
            and "/" not in filename and not filename.startswith(".")}
