"""The render pipeline's picture stages: render-scenes (a still, or a picture scene and its
overlay, or a clip's overlay, per scene) and assemble-video (everything into one MP4 in one
ffmpeg call). Uploaded pictures, clips and music are in the input hashes by their content,
so replacing one re-renders what shows it and reuses the rest.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import asdict
from pathlib import Path

from webapp.jobs import progress, task
from webapp.jobs.context import current_job_id
from webapp.models import MediaFile, Project
from webapp.render import scene_media, stock_media, storage
from webapp.render.outputs import ASSEMBLE_VIDEO, FILES, NARRATE, RENDER_SCENES
from webapp.storage import MissingObject
from webapp.tasks.stages import (
    StageError,
    StageParams,
    load_project,
    reuse_note,
    reused,
    scenes_of,
    sibling_result,
    theme_for,
)
from webapp.tasks.video import NARRATION_WAV
from webapp.video import ffmpeg, frames, media_frames, subtitles
from webapp.video.captions import Captions
from webapp.video.formats import FORMATS, VideoFormat
from webapp.video.motion import SceneMedia
from webapp.video.script import Scene
from webapp.video.themes import FONTS, FONTS_DIR, Theme

# Bump a version when a stage's output for the same inputs changes, so caches are rebuilt.
FRAMES_VERSION = 3  # 2: scene stills drawn with bleed, for motion; 3: uploaded media
VIDEO_VERSION = 3  # 2: motion and cross-fades; 3: pictures, clips and music tracks


@task(RENDER_SCENES, title="Render scenes", params=StageParams, queue="video", timeout=600,
      launchable=False, idempotent=True,
      describe=lambda r: f"{r['frames']} stills at {r['width']}×{r['height']}"
                         f"{_stock_note(r)}{reuse_note(r)}")
def render_scenes(project_id: int) -> dict:
    """Draw each scene: a text still, a picture scene (the picture and its overlay), or a
    clip's overlay; and the title card that also serves as the thumbnail."""
    project = load_project(project_id)
    scenes = scenes_of(project)
    fmt, theme = FORMATS[project.format], theme_for(project)
    uploads, notes, credits = _scene_sources(project, scenes, fmt)
    output, manifest = storage.locate(project.id, "frames", {
        "v": FRAMES_VERSION, "title": project.title, "headings": [s.heading for s in scenes],
        "format": fmt.key, "theme": asdict(theme),
        "media": [scene_media.identity(u) for u in uploads]})
    if manifest is not None:
        return {**reused("scene", output, manifest), "notes": notes}
    names, media = [], []
    with storage.building(project.id, "frames", storage.digest_of(output),
                          current_job_id()) as temp:
        for index, (scene, upload) in enumerate(zip(scenes, uploads, strict=True), 1):
            drawing = _Drawing(scene, index, len(scenes), project.title, fmt, theme, temp)
            media.append(drawing.draw(upload))
            names.append(drawing.still)
            progress(95 * index / len(scenes), f"Scene {index} of {len(scenes)}")
        card = frames.render_title_card(project.title, subtitle=project.topic, fmt=fmt,
                                        theme=theme)
        frames.save_png(card, temp / "title.png")
        summary = {"frames": len(names), "width": fmt.width, "height": fmt.height,
                   "media": sum(1 for m in media if m), "credits": credits}
        storage.write_json(temp / storage.MANIFEST, {
            "summary": summary, "frames": names, "title_card": "title.png", "media": media})
    return {"output": output, "reused": False, **summary, "notes": notes}


def _scene_sources(project: Project, scenes: list[Scene], fmt: VideoFormat):
    """Each scene's upload or stock pick (None: a text scene), notes on scenes whose stock
    search found nothing, and the stock picks' credits."""
    uploads: list = scene_media.scene_uploads(project)
    if not project.stock_provider:
        return uploads, [], []
    narration = storage.read_manifest(sibling_result(NARRATE)["output"]) or {}
    seconds = narration.get("scene_durations") or [5.0] * len(scenes)
    progress(0, f"Finding stock media on {project.stock_provider.capitalize()}", force=True)
    try:
        picks, notes = stock_media.pick_for_scenes(
            project, scenes, [u is not None for u in uploads], seconds, fmt)
    except stock_media.StockStageError as exc:
        raise StageError(str(exc)) from None
    credits = [p.credit for p in picks if p is not None]
    return [u or p for u, p in zip(uploads, picks, strict=True)], notes, credits


def _stock_note(result: dict) -> str:
    """What render-scenes' description says of stock media: how many scenes got some, and
    which stayed text scenes, why."""
    found, missed = len(result.get("credits") or []), result.get("notes") or []
    note = f", {found} from stock" if found else ""
    return note + (f" (text instead: {'; '.join(missed)})" if missed else "")


class _Drawing:
    """One scene of render-scenes, drawn into the stage's scratch folder `temp`."""

    def __init__(self, scene: Scene, index: int, total: int, title: str, fmt: VideoFormat,
                 theme: Theme, temp: Path):
        self.scene, self.index, self.total, self.title = scene, index, total, title
        self.fmt, self.theme, self.temp = fmt, theme, temp
        self.still = f"scene-{index:03d}.png"
        self.overlay = f"scene-{index:03d}-overlay.png"

    def _where(self) -> dict:
        return {"index": self.index, "total": self.total, "title": self.title,
                "fmt": self.fmt, "theme": self.theme}

    def draw(self, upload: MediaFile | stock_media.StockPick | None) -> dict | None:
        """Draw the scene; what assemble-video needs to know of its media (None: text)."""
        if upload is None:
            image = frames.render_scene(self.scene, bleed=True, **self._where())
            frames.save_png(image, self.temp / self.still)
            return None
        if upload.kind == "image":
            with scene_media.local_file(upload, self.temp) as picture:
                drawn = media_frames.render_picture_scene(picture, self.scene, **self._where())
            # A photo at twice the video's size: JPEG (a PNG of it took over a second).
            self.still = f"scene-{self.index:03d}.jpg"
            media_frames.save_jpeg(drawn.background, self.temp / self.still)
            frames.save_png(drawn.overlay, self.temp / self.overlay)
            return {"kind": "picture", "overlay": self.overlay}
        overlay = media_frames.render_clip_overlay(self.scene, **self._where())
        frames.save_png(overlay, self.temp / self.overlay)
        # The still stands for the scene where a picture is needed (nothing reads it to
        # render: the clip plays there).
        frames.save_png(overlay.convert("RGB"), self.temp / self.still)
        return {"kind": "clip", "overlay": self.overlay, "key": upload.key,
                "duration": upload.duration, "sha256": upload.sha256}


@task(ASSEMBLE_VIDEO, title="Assemble video", params=StageParams, queue="video", timeout=1800,
      launchable=False, idempotent=True,
      describe=lambda r: f"{r['duration']:.1f} s video, {r['size'] / 1048576:.1f} MiB"
                         f"{reuse_note(r)}")
def assemble_video(project_id: int) -> dict:
    """Encode the scenes (moving stills, pictures, clips), narration, subtitles and music
    into one MP4 in one ffmpeg call."""
    project = load_project(project_id)
    narration_key = sibling_result(NARRATE)["output"]
    frames_key = sibling_result(RENDER_SCENES)["output"]
    narration = storage.read_manifest(narration_key)
    stills = storage.read_manifest(frames_key)
    if narration is None or stills is None:
        raise StageError("An earlier stage's output is missing; render again.")
    if len(narration["scene_durations"]) != len(stills["frames"]):
        raise StageError("The script changed while rendering; render again.")
    fmt, theme = FORMATS[project.format], theme_for(project)
    music = scene_media.music_track(project)
    output, manifest = storage.locate(project.id, "video", {
        "v": VIDEO_VERSION, "narration": storage.digest_of(narration_key),
        "frames": storage.digest_of(frames_key), "music": project.music_level,
        "music_track": scene_media.identity(music),
        "burn": project.burn_subtitles, "format": fmt.key, "font": theme.font,
        "captions": Captions.of(project.captions).as_dict(), "accent": theme.accent})
    if manifest is not None:
        return {**reused("video", output, manifest), "files": manifest["files"]}
    try:
        with storage.building(project.id, "video", storage.digest_of(output),
                              current_job_id()) as temp:
            summary = _fetch_and_assemble(project, fmt, temp, narration_key, frames_key,
                                          narration, stills, music)
            progress(99, "Storing the video", force=True)
    except MissingObject:
        raise StageError("An earlier stage's output or an uploaded file is missing (it may "
                         "have been replaced meanwhile); render again.") from None
    return {"output": output, "reused": False, **summary, "files": dict(FILES)}


def _fetch_and_assemble(project: Project, fmt: VideoFormat, temp: Path, narration_key: str,
                        frames_key: str, narration: dict, stills: dict,
                        music: MediaFile | None) -> dict:
    media = stills.get("media") or [None] * len(stills["frames"])
    names = [*stills["frames"], stills["title_card"], *(m["overlay"] for m in media if m)]
    progress(0, "Fetching the narration, stills and media", force=True)
    with contextlib.ExitStack() as stack:
        narration_dir = stack.enter_context(storage.fetched(narration_key, [NARRATION_WAV],
                                                            temp))
        frames_dir = stack.enter_context(storage.fetched(frames_key, names, temp))
        scenes = [_scene_media(entry, frames_dir / still, frames_dir, stack, temp)
                  for entry, still in zip(media, stills["frames"], strict=True)]
        track = stack.enter_context(scene_media.local_file(music, temp)) if music else None
        summary = _assemble(project, fmt, temp, narration_dir / NARRATION_WAV, narration,
                            [frames_dir / name for name in stills["frames"]], scenes, track,
                            frames_dir / stills["title_card"],
                            stills.get("summary", {}).get("credits") or [])
    return summary


def _scene_media(entry: dict | None, still: Path, frames_dir: Path,
                 stack: contextlib.ExitStack, temp: Path) -> SceneMedia | None:
    if entry is None:
        return None
    overlay = frames_dir / entry["overlay"]
    if entry["kind"] == "picture":
        return SceneMedia("picture", still, overlay)
    clip = stack.enter_context(scene_media.local_key(entry["key"], temp))
    # Probed here (50 ms): a stock clip's length is only what its provider said.
    return SceneMedia("clip", clip, overlay, duration=ffmpeg.probe(clip).duration)


def _assemble(project: Project, fmt: VideoFormat, temp: Path, narration_wav: Path,
              narration: dict, stills: list[Path], scenes: list[SceneMedia | None],
              track: Path | None, title_card: Path, credits: list[dict]) -> dict:
    cues = [subtitles.Cue(**cue) for cue in narration["cues"]]
    captions, theme = Captions.of(project.captions), theme_for(project)
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
        frames=stills, durations=narration["scene_durations"], narration=narration_wav,
        output=temp / FILES["video"], fmt=fmt, soft_subtitles=temp / FILES["srt"],
        burn_subtitles=burn, fonts_dir=FONTS_DIR, music_level=project.music_level,
        scenes=scenes if any(scenes) else None, music_track=track)
    ffmpeg.run_assembly(plan, on_progress=lambda f: progress(min(99, 100 * f), "Encoding"))
    shutil.copyfile(title_card, temp / FILES["thumbnail"])
    info = ffmpeg.probe(temp / FILES["video"])
    summary = {"duration": info.duration, "width": info.width, "height": info.height,
               "size": (temp / FILES["video"]).stat().st_size, "credits": credits}
    storage.write_json(temp / storage.MANIFEST, {"summary": summary, "files": FILES})
    return summary
