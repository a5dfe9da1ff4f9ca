"""The render pipeline's stages, each a task: write-script -> narrate -> render-scenes ->
assemble-video. Each reads the project, builds its output in a scratch folder and stores it
under a key made of a hash of its inputs (reusing it when the inputs did not change), and
reports progress as it goes; assemble-video fetches the earlier stages' files first.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.jobs import TaskError, progress, task
from webapp.jobs.context import current_job_id, current_job_row
from webapp.models import FINISHED, BackgroundJob, Project, User
from webapp.projects.schemas import Limits, parse_project
from webapp.quotas import quotas_for
from webapp.render import storage
from webapp.render.outputs import (
    ASSEMBLE_VIDEO,
    FILES,
    NARRATE,
    RENDER_SCENES,
    WRITE_SCRIPT,
)
from webapp.render.providers import provider_settings
from webapp.storage import MissingObject
from webapp.validation import ParamsError
from webapp.video import ffmpeg, frames, subtitles, writers
from webapp.video.audio import build_narration, write_wav
from webapp.video.captions import Captions
from webapp.video.formats import FORMATS, FPS
from webapp.video.script import Scene, estimated_seconds, split_sentences
from webapp.video.themes import FONTS, FONTS_DIR, Theme, theme_of
from webapp.video.voices import VoiceUnavailable, get_synthesizer

log = logging.getLogger(__name__)

# Bump a version when a stage's output for the same inputs changes, so caches are rebuilt.
NARRATION_VERSION = 1
FRAMES_VERSION = 2  # 2: scene stills drawn with bleed, for motion
VIDEO_VERSION = 2  # 2: motion and cross-fades
NARRATION_WAV = "narration.wav"


class StageError(TaskError):
    """A stage cannot do its work; the message says why and what to do (shown as it is)."""


class StageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: int = Field(ge=1)


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise StageError(f"Project {project_id} no longer exists.")
    return project


def _script(project: Project) -> list[Scene]:
    if not project.script:
        raise StageError("The project has no script.")
    return [Scene(heading=s["heading"], narration=s["narration"]) for s in project.script]


def _sibling_result(task_name: str) -> dict:
    """The result of an earlier stage of this render."""
    row = current_job_row()
    result = db.session.scalar(
        select(BackgroundJob.result).where(BackgroundJob.pipeline_id == row.pipeline_id,
                                           BackgroundJob.task == task_name,
                                           BackgroundJob.status == FINISHED))
    if not result:
        raise StageError(f"The {task_name} stage of this render has no output.")
    return result


def _reused(kind: str, output: str, manifest: dict) -> dict:
    progress(100, f"Reused: the {kind} inputs did not change", force=True)
    return {"output": output, "reused": True, **manifest.get("summary", {})}


def _reuse_note(result: dict) -> str:
    return " (reused: inputs unchanged)" if result.get("reused") else ""


@task(WRITE_SCRIPT, title="Write script", params=StageParams, queue="video", timeout=300,
      launchable=False, idempotent=True,
      describe=lambda r: r.get("skipped") or f"{r['scenes']} scenes by the {r['provider']} writer")
def write_script(project_id: int) -> dict:
    """Write the project's script from its topic and outline (only when it has none)."""
    project = _project(project_id)
    if project.script:
        return {"scenes": len(project.script), "skipped": "the project already has a script"}
    config = current_app.config
    provider = config["SCRIPT_PROVIDER"]
    progress(10, f"Writing with the {provider} provider", force=True)
    try:
        scenes = writers.write_script(
            provider, title=project.title, topic=project.topic or project.title,
            outline=project.outline, max_scenes=config["MAX_SCENES"],
            settings=provider_settings())
    except writers.ScriptWriterError as exc:
        raise StageError(str(exc)) from None
    script = [asdict(scene) for scene in scenes]
    try:
        parse_project({"script": script}, Limits.from_config(config))
    except ParamsError as exc:
        raise StageError(
            f"The {provider} provider wrote a script over the limits: {exc.details}") from None
    db.session.execute(update(Project).where(Project.id == project.id, Project.script.is_(None))
                       .values(script=script))
    db.session.commit()
    return {"scenes": len(script), "provider": provider}


@task(NARRATE, title="Narrate", params=StageParams, queue="video", timeout=900,
      launchable=False, idempotent=True,
      describe=lambda r: f"{r['duration']:.1f} s of narration{_reuse_note(r)}")
def narrate(project_id: int) -> dict:
    """Synthesize the narration one sentence at a time; cue times come from the samples."""
    project = _project(project_id)
    scenes = _script(project)
    settings = provider_settings()
    sentences = [split_sentences(s.narration) or [s.narration] for s in scenes]
    inputs = {"v": NARRATION_VERSION, "voice": project.voice, "fps": FPS,
              "model": settings.piper_model, "sentences": sentences}
    if project.narration_speed != 1.0:  # so that narrations made before speeds stay reused
        inputs["speed"] = project.narration_speed
    output, manifest = storage.locate(project.id, "narration", inputs)
    _check_length(estimated_seconds(scenes) / project.narration_speed, "would last about")
    if manifest is not None:
        _check_length(manifest["summary"]["duration"], "lasts")
        return _reused("narration", output, manifest)
    # The piper voice is loaded here, in the job's work-horse (piper_engine caches it for
    # the rest of this job), not in the worker before the fork: onnxruntime's thread pool
    # does not survive fork(), and a model loaded in the parent synthesized about 1.7x
    # slower in the child (0.081 vs 0.049 x real time on 2 cores) than one loaded in the
    # child, which costs 0.5 s.
    try:
        synth = get_synthesizer(project.voice, settings, project.narration_speed)
    except VoiceUnavailable as exc:
        raise StageError(str(exc)) from None
    total = sum(len(s) for s in sentences)
    clips, done = [], 0
    for number, scene_sentences in enumerate(sentences, 1):
        scene_clips = []
        for sentence in scene_sentences:
            scene_clips.append((sentence, synth.synthesize(sentence)))
            done += 1
            progress(95 * done / total, f"Scene {number} of {len(sentences)}: "
                                        f"sentence {done} of {total}")
        clips.append(scene_clips)
    narration = build_narration(clips, FPS)
    _check_length(narration.audio.duration, "lasts")
    summary = {"duration": narration.audio.duration, "scenes": len(scenes), "voice": project.voice}
    with storage.building(project.id, "narration", storage.digest_of(output),
                          current_job_id()) as temp:
        write_wav(temp / NARRATION_WAV, narration.audio)
        storage.write_json(temp / storage.MANIFEST, {
            "summary": summary, "scene_durations": narration.scene_durations,
            "cues": [asdict(c) for c in narration.cues]})
    return {"output": output, "reused": False, **summary}


def _check_length(seconds: float, verb: str) -> None:
    """The render's owner may have at most so many seconds of narration per render."""
    row = current_job_row()
    owner = db.session.get(User, row.user_id) if row else None
    limit = quotas_for(owner).max_render_seconds if owner else None
    if limit is not None and seconds > limit:
        raise StageError(f"The narration {verb} {seconds / 60:.1f} minutes; renders may have "
                         f"at most {limit / 60:g} minutes of narration (an admin can raise "
                         "your limit).")


def _theme(project: Project) -> Theme:
    return theme_of(project.theme)


@task(RENDER_SCENES, title="Render scenes", params=StageParams, queue="video", timeout=600,
      launchable=False, idempotent=True,
      describe=lambda r: f"{r['frames']} stills at {r['width']}×{r['height']}{_reuse_note(r)}")
def render_scenes(project_id: int) -> dict:
    """Draw one still per scene, and the title card that also serves as the thumbnail."""
    project = _project(project_id)
    scenes = _script(project)
    fmt, theme = FORMATS[project.format], _theme(project)
    output, manifest = storage.locate(project.id, "frames", {
        "v": FRAMES_VERSION, "title": project.title, "headings": [s.heading for s in scenes],
        "format": fmt.key, "theme": asdict(theme)})
    if manifest is not None:
        return _reused("scene", output, manifest)
    names = []
    with storage.building(project.id, "frames", storage.digest_of(output),
                          current_job_id()) as temp:
        for index, scene in enumerate(scenes, 1):
            image = frames.render_scene(scene, index=index, total=len(scenes),
                                        title=project.title, fmt=fmt, theme=theme, bleed=True)
            names.append(f"scene-{index:03d}.png")
            frames.save_png(image, temp / names[-1])
            progress(95 * index / len(scenes), f"Scene {index} of {len(scenes)}")
        card = frames.render_title_card(project.title, subtitle=project.topic, fmt=fmt,
                                        theme=theme)
        frames.save_png(card, temp / "title.png")
        summary = {"frames": len(names), "width": fmt.width, "height": fmt.height}
        storage.write_json(temp / storage.MANIFEST,
                           {"summary": summary, "frames": names, "title_card": "title.png"})
    return {"output": output, "reused": False, **summary}


@task(ASSEMBLE_VIDEO, title="Assemble video", params=StageParams, queue="video", timeout=1800,
      launchable=False, idempotent=True,
      describe=lambda r: f"{r['duration']:.1f} s video, {r['size'] / 1048576:.1f} MiB"
                         f"{_reuse_note(r)}")
def assemble_video(project_id: int) -> dict:
    """Encode stills, narration, subtitles and music into one MP4 in one ffmpeg call."""
    project = _project(project_id)
    narration_key = _sibling_result(NARRATE)["output"]
    frames_key = _sibling_result(RENDER_SCENES)["output"]
    narration = storage.read_manifest(narration_key)
    stills = storage.read_manifest(frames_key)
    if narration is None or stills is None:
        raise StageError("An earlier stage's output is missing; render again.")
    if len(narration["scene_durations"]) != len(stills["frames"]):
        raise StageError("The script changed while rendering; render again.")
    fmt, theme = FORMATS[project.format], _theme(project)
    output, manifest = storage.locate(project.id, "video", {
        "v": VIDEO_VERSION, "narration": storage.digest_of(narration_key),
        "frames": storage.digest_of(frames_key), "music": project.music_level,
        "burn": project.burn_subtitles, "format": fmt.key, "font": theme.font,
        "captions": Captions.of(project.captions).as_dict(), "accent": theme.accent})
    if manifest is not None:
        return {**_reused("video", output, manifest), "files": manifest["files"]}
    try:
        with storage.building(project.id, "video", storage.digest_of(output),
                              current_job_id()) as temp:
            frames = [*stills["frames"], stills["title_card"]]
            progress(0, "Fetching the narration and stills", force=True)
            with (storage.fetched(narration_key, [NARRATION_WAV], temp) as narration_dir,
                  storage.fetched(frames_key, frames, temp) as frames_dir):
                summary = _assemble(project, fmt, temp, narration_dir, narration, frames_dir,
                                    stills)
            progress(99, "Storing the video", force=True)
    except MissingObject:
        raise StageError("An earlier stage's output is missing; render again.") from None
    return {"output": output, "reused": False, **summary, "files": dict(FILES)}


def _assemble(project, fmt, temp, narration_dir, narration, frames_dir, stills) -> dict:
    cues = [subtitles.Cue(**cue) for cue in narration["cues"]]
    captions, theme = Captions.of(project.captions), _theme(project)
    words = captions.words  # the current word highlighted: the tracks timed word by word
    (temp / FILES["srt"]).write_text(subtitles.to_srt(cues, words), encoding="utf-8")
    (temp / FILES["vtt"]).write_text(subtitles.to_vtt(cues, words), encoding="utf-8")
    burn = None
    if project.burn_subtitles:
        burn = temp / "burn.ass"
        burn.write_text(subtitles.to_ass(
            cues, width=fmt.width, height=fmt.height, font_family=FONTS[theme.font].family,
            captions=captions, text_colour="#ffffff", accent_colour=theme.accent),
            encoding="utf-8")
    plan = ffmpeg.AssemblyPlan(
        frames=[frames_dir / name for name in stills["frames"]],
        durations=narration["scene_durations"], narration=narration_dir / NARRATION_WAV,
        output=temp / FILES["video"], fmt=fmt, soft_subtitles=temp / FILES["srt"],
        burn_subtitles=burn, fonts_dir=FONTS_DIR, music_level=project.music_level)
    ffmpeg.run_assembly(plan, on_progress=lambda f: progress(min(99, 100 * f), "Encoding"))
    shutil.copyfile(frames_dir / stills["title_card"], temp / FILES["thumbnail"])
    info = ffmpeg.probe(temp / FILES["video"])
    summary = {"duration": info.duration, "width": info.width, "height": info.height,
               "size": (temp / FILES["video"]).stat().st_size}
    storage.write_json(temp / storage.MANIFEST, {"summary": summary, "files": FILES})
    return summary
