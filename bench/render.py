"""Render a 60-second video with the piper voice, motion and word-highlighted captions, at
720p, 1080p and 9:16; compare each with ffmpeg's part alone.

For each format one run prints: the whole pipeline's wall time (submit to last stage
finished, through a real worker process), each stage's time, the same video's ffmpeg
assembly run alone on the same inputs, their ratio, and the peak memory of the worker's
process tree (worker, work-horse and ffmpeg, as PSS) sampled every 0.5 s; then one table.
Target: the 720p video in under 15 s on 2 cores.

With --media, each format's narration and captions are then assembled again, alone, as
eight text scenes and as a mix of four pictures, two clips and two text scenes over an
uploaded track (bench/render_media.py), and the whole pipeline with that mix is estimated:
the pipeline's time less its assembly, plus the mix's assembly and the drawing of its
scenes.

Usage: python bench/render.py [--voice piper:joe]
       [--formats landscape-720,landscape-1080,portrait-1080] [--captions highlight] [--media]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from common import services  # noqa: E402  (bench/ is on sys.path as the script's folder)
from render_media import compare, make_media  # noqa: E402
from render_media import report as report_media  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Seven scenes of eight to ten seconds of speech each: about a minute of narration.
SCRIPT = [
    {"heading": heading, "narration": text}
    for heading, text in [
        ("The tide comes in", "Twice a day the sea climbs the beach and slips away again. "
         "People have watched it for as long as there have been shores to stand on."),
        ("The moon pulls", "The moon's gravity tugs on the ocean. The water nearest to it "
         "bulges outward, and a second bulge forms on the far side of the planet."),
        ("The earth turns", "As the earth spins beneath those bulges, every coast passes "
         "through them. That is why most places see two high tides each day."),
        ("The sun joins in", "The sun pulls too, though less strongly. When sun and moon line "
         "up, their pulls add together and the tides grow larger than usual."),
        ("Neap tides", "When they pull at right angles, the tides are gentler. These quiet "
         "weeks are called neap tides, and sailors plan their voyages around them."),
        ("Reading the sea", "Tide tables turn all of this into numbers. With them you can "
         "know, years ahead, when the water will stand high at your harbour."),
        ("Living with tides", "Harbours, fishing fleets and shore birds all keep this clock. "
         "Next time you stand on a beach, watch the line of wet sand move, and you will see "
         "the moon at work."),
    ]
]


class PeakMemory(threading.Thread):
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                # PSS: pages a forked work-horse shares with its worker count once, not twice.
                total = sum(p.memory_full_info().pss for p in procs if p.is_running())
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            time.sleep(0.5)  # PSS reads /proc/*/smaps: sample gently, ffmpeg needs the CPU


def wait_for_render(jobs, timeout: float = 900) -> None:
    from webapp.extensions import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        statuses = [db.session.get(type(j), j.id).status for j in jobs]
        if any(s in ("failed", "canceled", "stopped") for s in statuses):
            raise SystemExit(f"render did not finish: {statuses}")
        if all(s == "finished" for s in statuses):
            return
        time.sleep(0.1)
    raise SystemExit("render timed out")


def ffmpeg_alone(jobs, fmt_key: str, out_dir: Path) -> float:
    """Run the assembly once more, outside the pipeline, on the same inputs; seconds taken."""
    from webapp.render import storage
    from webapp.video.ffmpeg import AssemblyPlan, run_assembly
    from webapp.video.formats import FORMATS
    from webapp.video.themes import FONTS_DIR

    outputs = {j.task: j.result["output"] for j in jobs if j.result and "output" in j.result}
    narration = storage.read_manifest(outputs["narrate"])
    stills = storage.read_manifest(outputs["render-scenes"])
    names = {"narrate": ["narration.wav"], "render-scenes": stills["frames"],
             "assemble-video": ["subtitles.srt", "burn.ass"]}
    with (storage.fetched(outputs["narrate"], names["narrate"], out_dir) as narration_dir,
          storage.fetched(outputs["render-scenes"], names["render-scenes"], out_dir) as frames_dir,
          storage.fetched(outputs["assemble-video"], names["assemble-video"], out_dir)
          as video_dir):
        plan = AssemblyPlan(
            frames=[frames_dir / name for name in stills["frames"]],
            durations=narration["scene_durations"], narration=narration_dir / "narration.wav",
            output=out_dir / "alone.mp4", fmt=FORMATS[fmt_key],
            soft_subtitles=video_dir / "subtitles.srt", burn_subtitles=video_dir / "burn.ass",
            fonts_dir=FONTS_DIR, music_level=20)
        started = time.perf_counter()
        run_assembly(plan)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="piper:joe")
    parser.add_argument("--formats", default="landscape-720,landscape-1080,portrait-1080")
    parser.add_argument("--captions", default="highlight",
                        help="caption style: plain, outline, box or highlight")
    parser.add_argument("--media", action="store_true",
                        help="also time pictures, clips and an uploaded track (see above)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-bench-render-"))
    database_url, redis_url, stop = services(base, "cutroom_bench_render")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CUTROOM_ENV": "development", "MEDIA_ROOT": str(base / "media"),
           "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    worker = None
    try:
        from flask_migrate import upgrade

        from webapp import create_app
        from webapp.auth.services import create_user
        from webapp.extensions import db
        from webapp.models import Project

        app = create_app({"TESTING": False})
        with app.app_context():
            upgrade()
            user = create_user("bench@example.com", "bench-password")
            db.session.commit()
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "jobs",
                                       "worker"], cwd=ROOT, env=env)
            time.sleep(4)  # let the worker start before timing
            rows, mixes = [], []
            media = make_media(base / "media") if args.media else None
            for fmt in args.formats.split(","):
                project = Project(user_id=user.id, title="Why the tide turns", script=SCRIPT,
                                  voice=args.voice, format=fmt, music_level=20,
                                  burn_subtitles=True, theme={},
                                  captions={"style": args.captions})
                db.session.add(project)
                db.session.commit()
                print(f"\n{fmt}, captions {args.captions}:")
                rows.append((fmt, *render_once(project, user, worker.pid, base / fmt)))
                if media is not None:
                    mixes.append((fmt, rows[-1][1], media_alone(project, fmt, media, base)))
            table(rows)
            for fmt, pipeline, compared in mixes:
                report_media(fmt, compared)
                estimate = pipeline - compared.text_seconds + compared.media_seconds \
                    + compared.drawing_seconds
                print(f"  {fmt}: whole pipeline with the mix, estimated: {estimate:.1f} s")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        for service in reversed(stop):
            service.stop()


def media_alone(project, fmt_key: str, media: dict, base: Path):
    """The latest render's narration and burned captions assembled as text and as the mix."""
    from webapp.extensions import db
    from webapp.models import BackgroundJob
    from webapp.render import storage
    from webapp.video.formats import FORMATS

    jobs = db.session.scalars(db.select(BackgroundJob).where(
        BackgroundJob.project_id == project.id)).all()
    outputs = {j.task: j.result["output"] for j in jobs if j.result and "output" in j.result}
    out = base / fmt_key / "media"
    out.mkdir(parents=True)
    with (storage.fetched(outputs["narrate"], ["narration.wav"], out) as narration_dir,
          storage.fetched(outputs["assemble-video"], ["burn.ass"], out) as video_dir):
        return compare(narration_dir / "narration.wav", video_dir / "burn.ass",
                       FORMATS[fmt_key], media, out / "plans")


def render_once(project, user, worker_pid: int, out: Path) -> tuple[float, float, int]:
    """Render `project` through the worker; (pipeline s, ffmpeg alone s, peak bytes)."""
    from webapp.extensions import db
    from webapp.projects.renders import start_render

    memory = PeakMemory(worker_pid)
    memory.start()
    started = time.perf_counter()
    jobs, _ = start_render(project, user)
    wait_for_render(jobs)
    pipeline_seconds = time.perf_counter() - started
    memory.running = False
    db.session.expire_all()
    jobs = [db.session.get(type(j), j.id) for j in jobs]
    out.mkdir(parents=True)
    alone = ffmpeg_alone(jobs, project.format, out)
    report(jobs, pipeline_seconds, alone, memory.peak)
    return pipeline_seconds, alone, memory.peak


def table(rows: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{'format':16} {'pipeline s':>10} {'ffmpeg s':>9} {'ratio':>6} {'peak MiB':>9}")
    for fmt, pipeline, alone, peak in rows:
        print(f"{fmt:16} {pipeline:10.2f} {alone:9.2f} {pipeline / alone:6.2f}"
              f" {peak / 1048576:9.0f}")


def report(jobs, pipeline_seconds: float, alone: float, peak: int) -> None:
    video = jobs[-1].result
    print(f"video:                 {video['duration']:.1f} s, {video['width']}x{video['height']}, "
          f"{video['size'] / 1048576:.1f} MiB")
    for job in jobs:
        took = (job.ended_at - job.started_at).total_seconds()
        print(f"  stage {job.task:<15} {took:6.2f} s")
    print(f"whole pipeline:        {pipeline_seconds:6.2f} s (submit to last stage finished)")
    print(f"ffmpeg assembly alone: {alone:6.2f} s (same inputs, run outside the pipeline)")
    print(f"pipeline / ffmpeg:     {pipeline_seconds / alone:6.2f}")
    print(f"worker peak memory:    {peak / 1048576:6.0f} MiB PSS (worker + work-horse + ffmpeg)")


if __name__ == "__main__":
    main()
