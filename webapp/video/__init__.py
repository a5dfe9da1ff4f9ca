"""The video recipe: script, narration, subtitles, frames and one ffmpeg render.

A pure library: inputs in, files out, exceptions with clear messages. It knows nothing of
Flask, the database or the job queue; the job pipeline calls it one stage at a time.
Import the submodules directly (`from webapp.video.ffmpeg import run_assembly`) so that a
caller pays only for what it uses (piper, for one, is slow to import).
"""
