"""Running the bundled ffmpeg: progress from -progress, stderr kept for errors, no orphans."""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import IO

import imageio_ffmpeg

from webapp.parent_death import die_with_parent

STDERR_TAIL_LINES = 20


class FfmpegError(Exception):
    """ffmpeg exited with an error; the message ends with the tail of its stderr."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr.strip()}" if stderr.strip() else message)
        self.stderr = stderr


class _Child(subprocess.Popen):
    """Popen that kills its child when it is interrupted while starting it: an exception from
    a signal handler (a job timeout) can arrive after the fork and before Popen returns,
    when no one holds the Popen object yet to kill the child."""

    def _execute_child(self, *args, **kwargs):  # type: ignore[override]
        try:
            super()._execute_child(*args, **kwargs)
        except BaseException:
            if getattr(self, "pid", None):
                self.kill()
                self.wait()
            raise


def ffmpeg_exe() -> str:
    """The path of the static ffmpeg shipped by imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(
    args: list[str], *, total_seconds: float, on_progress: Callable[[float], None] | None = None
) -> None:
    """Run ffmpeg (args should include -progress pipe:1), reporting the fraction done.

    Whatever interrupts the wait (an exception from on_progress, KeyboardInterrupt, a job
    timeout raised by a signal handler) kills ffmpeg and reaps it before propagating, so no
    encoder is left running and writing after its job has ended.
    """
    # die_with_parent: if the work-horse is killed (SIGKILL, OOM), ffmpeg goes with it
    # instead of writing on, orphaned.
    process = _Child(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    # stderr is drained in a thread: if ffmpeg filled that pipe while we read stdout only,
    # both processes would wait on each other for ever.
    reader = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True)
    reader.start()
    try:
        _follow_progress(process.stdout, total_seconds, on_progress)
        returncode = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        reader.join(timeout=5)
        _close(process.stdout, process.stderr)
    if returncode != 0:
        raise FfmpegError(f"ffmpeg exited with code {returncode}", "".join(tail))


def progress_fractions(lines: Iterable[str], total_seconds: float) -> Iterable[float]:
    """Turn -progress key=value lines into strictly increasing fractions, ending at 1.0."""
    reported = 0.0
    for line in lines:
        key, _, value = line.strip().partition("=")
        fraction = None
        # out_time_ms is in microseconds too (a long-standing ffmpeg quirk).
        if key in ("out_time_us", "out_time_ms") and value.lstrip("-").isdigit():
            fraction = min(1.0, max(0.0, int(value) / 1e6 / max(total_seconds, 1e-6)))
        elif key == "progress" and value == "end":
            fraction = 1.0
        if fraction is not None and fraction > reported:
            reported = fraction
            yield fraction


def _follow_progress(
    stdout: IO[bytes] | None, total_seconds: float, on_progress: Callable[[float], None] | None
) -> None:
    if stdout is None:
        return
    lines = (raw.decode("utf-8", "replace") for raw in stdout)
    for fraction in progress_fractions(lines, total_seconds):
        if on_progress is not None:
            on_progress(fraction)


def _drain(stream: IO[bytes] | None, tail: deque[str]) -> None:
    if stream is None:
        return
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace"))


def _close(*streams: IO[bytes] | None) -> None:
    for stream in streams:
        if stream is not None:
            stream.close()
