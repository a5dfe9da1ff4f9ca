"""The render pipeline's stages, each a task: write-script -> narrate (here) ->
render-scenes -> assemble-video (webapp/tasks/pictures.py). Each reads the project, builds
its output in a scratch folder and stores it under a key made of a hash of its inputs
(reusing it when the inputs did not change), and reports progress as it goes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import current_app
from sqlalchemy import update

from webapp.extensions import db
from webapp.jobs import progress, task
from webapp.jobs.context import current_job_id
from webapp.models import Project
from webapp.projects.schemas import Limits, parse_project
from webapp.render import storage
from webapp.render.outputs import NARRATE, WRITE_SCRIPT
from webapp.render.providers import provider_settings
from webapp.tasks.stages import (
    StageError,
    StageParams,
    check_length,
    load_project,
    reuse_note,
    reused,
    scenes_of,
)
from webapp.validation import ParamsError
from webapp.video import writers
from webapp.video.audio import build_narration, write_wav
from webapp.video.formats import FPS
from webapp.video.script import estimated_seconds, split_sentences
from webapp.video.voices import VoiceUnavailable, get_synthesizer

log = logging.getLogger(__name__)

# Bump a version when a stage's output for the same inputs changes, so caches are rebuilt.
NARRATION_VERSION = 1
NARRATION_WAV = "narration.wav"


@task(WRITE_SCRIPT, title="Write script", params=StageParams, queue="video", timeout=300,
      launchable=False, idempotent=True,
      describe=lambda r: r.get("skipped") or f"{r['scenes']} scenes by the {r['provider']} writer")
def write_script(project_id: int) -> dict:
    """Write the project's script from its topic and outline (only when it has none)."""
    project = load_project(project_id)
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
      describe=lambda r: f"{r['duration']:.1f} s of narration{reuse_note(r)}")
def narrate(project_id: int) -> dict:
    """Synthesize the narration one sentence at a time; cue times come from the samples."""
    project = load_project(project_id)
    scenes = scenes_of(project)
    settings = provider_settings()
    sentences = [split_sentences(s.narration) or [s.narration] for s in scenes]
    inputs = {"v": NARRATION_VERSION, "voice": project.voice, "fps": FPS,
              "model": settings.piper_model, "sentences": sentences}
    if project.narration_speed != 1.0:  # so that narrations made before speeds stay reused
        inputs["speed"] = project.narration_speed
    output, manifest = storage.locate(project.id, "narration", inputs)
    check_length(estimated_seconds(scenes) / project.narration_speed, "would last about")
    if manifest is not None:
        check_length(manifest["summary"]["duration"], "lasts")
        return reused("narration", output, manifest)
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
    check_length(narration.audio.duration, "lasts")
    summary = {"duration": narration.audio.duration, "scenes": len(scenes), "voice": project.voice}
    with storage.building(project.id, "narration", storage.digest_of(output),
                          current_job_id()) as temp:
        write_wav(temp / NARRATION_WAV, narration.audio)
        storage.write_json(temp / storage.MANIFEST, {
            "summary": summary, "scene_durations": narration.scene_durations,
            "cues": [asdict(c) for c in narration.cues]})
    return {"output": output, "reused": False, **summary}
