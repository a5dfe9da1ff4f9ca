"""The README's screenshots, made again with `make screenshots`
(`python -m tests.screenshots [--out static/screenshots] [SHOT ...]`).

It runs the whole app as `make dev` does, on throwaway data (tests/throwaway_app.py).
Headless Chromium signs in through the real form, makes the jobs and the project each
picture needs through the pages, waits for their states and writes one PNG per shot.
Everything it started stops at the end, after a failure or Ctrl+C too.

A shot is one function under @shot(name), writing `name`.png; shots run in the order written.
Adding one is adding such a function (`console` below is one: an admin's explorer over
the dashboard's jobs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from tests.browser import CHROMIUM, CHROMIUM_ARGS, open_test_tasks, sign_in
from tests.support import PASSWORD
from tests.throwaway_app import STOP_SIGNALS, Cutroom, Failure
from webapp.config import ROOT

OUT = ROOT / "static" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# One account makes the project and the jobs, so its home page shows both.
JOBS_USER = PROJECTS_USER = "sam@example.com"
# The countdown captured part-way: long enough to stay running through every dashboard shot.
RUNNING_STEPS = 90
RUNNING_AT = 40  # per cent, when the shots may start
RENDER_TIMEOUT = 240_000  # ms
SCRIPT = """The tide comes in
Twice a day the sea climbs the beach, pulled by the Moon.

Spring tides
When the Sun and the Moon line up, high tides run higher.

The tide goes out
Six hours later the water is back where it started."""




# --- The browser and the shots --------------------------------------------------------------


@dataclass
class Account:
    email: str


class Studio:
    """The running app, a headless Chromium, its signed-in accounts and the scenes built."""

    def __init__(self, app: Cutroom, browser: Any) -> None:
        self.app = app
        self.url = app.url
        self.browser = browser
        self._sessions: dict[str, dict] = {}
        self._scenes: dict[Callable, Any] = {}

    def session(self, email: str, admin: bool = False) -> dict:
        """A signed-in browser state for `email`: the account (an admin's if `admin`) is
        made with `flask users create` and signed in once, through the real form."""
        if email not in self._sessions:
            self.app.flask("users", "create", email, "--password", PASSWORD,
                           *(["--admin"] if admin else []))
            context = self.browser.new_context(viewport=DESKTOP)
            try:
                sign_in(context.new_page(), self.url, Account(email))
                self._sessions[email] = context.storage_state()
            finally:
                context.close()
        return self._sessions[email]

    @contextlib.contextmanager
    def page(self, email: str, viewport: dict = DESKTOP, admin: bool = False,
             **options: Any) -> Iterator[Any]:
        """A page signed in as `email` in a context of its own (Playwright's new_context
        options: device_scale_factor, is_mobile, color_scheme...)."""
        context = self.browser.new_context(viewport=viewport,
                                           storage_state=self.session(email, admin), **options)
        try:
            yield context.new_page()
        finally:
            context.close()

    def scene(self, build: Callable[[Studio], Any]) -> Any:
        """What `build` sets up for several shots, built by the first that asks."""
        if build not in self._scenes:
            self._scenes[build] = build(self)
        return self._scenes[build]

    def capture(self, page: Any, path: Path, full_page: bool = False) -> None:
        """Wait until the page is quiet, then write it, as still as it can be made."""
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => document.activeElement?.blur())")
        page.mouse.move(page.viewport_size["width"] - 1, page.viewport_size["height"] - 1)
        page.screenshot(path=path, animations="disabled", caret="hide", full_page=full_page)
        _shrink_png(path)


def _shrink_png(path: Path) -> None:
    """Re-save losslessly: as a palette image when it has at most 256 colours, and always
    with zlib's best compression; keep whichever file is smaller."""
    with Image.open(path) as image:
        picture = image.convert("RGB")  # screenshots are opaque
    colours = picture.getcolors(256)
    if colours is not None:
        palette = Image.new("P", (1, 1))
        palette.putpalette([channel for _, rgb in colours for channel in rgb])
        indexed = picture.quantize(palette=palette, dither=Image.Dither.NONE)
        if ImageChops.difference(indexed.convert("RGB"), picture).getbbox() is None:
            picture = indexed
    smaller = io.BytesIO()
    picture.save(smaller, format="PNG", optimize=True)
    if smaller.tell() < path.stat().st_size:
        path.write_bytes(smaller.getvalue())


SHOTS: dict[str, Callable[[Studio, Path], None]] = {}


def shot(name: str) -> Callable:
    """Register a shot: a function that takes the Studio and the PNG's path."""

    def register(take: Callable[[Studio, Path], None]) -> Callable[[Studio, Path], None]:
        SHOTS[name] = take
        return take

    return register


def _card(page: Any, job_id: str) -> Any:
    return page.locator(f"#job-{job_id}")


def _status(card: Any, *statuses: str, timeout: float = 60_000) -> None:
    from playwright.sync_api import expect

    expect(card).to_have_attribute("data-status", re.compile(f"^({'|'.join(statuses)})$"),
                                   timeout=timeout)


def _launch(page: Any, task: str, **fields: str) -> Any:
    """Start a job from its launch form; its new card (put at the top of the list)."""
    from playwright.sync_api import expect

    cards = page.locator("#job-list .job-card")
    before = cards.count()
    open_test_tasks(page)
    form = page.locator(f"#launch-{task}")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(cards).to_have_count(before + 1)
    return _card(page, cards.first.get_attribute("id").removeprefix("job-"))


def _progress_at_least(page: Any, card: Any, percent: int, timeout: float = 120_000) -> None:
    selector = f"#{card.get_attribute('id')} progress"
    page.wait_for_function("([selector, percent]) => "
                           "(document.querySelector(selector)?.value ?? 0) >= percent",
                           arg=[selector, percent], timeout=timeout)


def busy_dashboard(studio: Studio) -> str:
    """JOBS_USER's jobs in five states, newest first: a countdown waiting for the worker, one
    running part-way (it runs on through the dashboard shots), one stopped, a finished trigger
    test and a failed test that used up its retries. The account's email."""
    with studio.page(JOBS_USER) as page:
        page.goto(f"{studio.url}/")
        failed = _launch(page, "fail-test", message="The narration service timed out")
        _status(failed, "failed")
        finished = _launch(page, "trigger-test", message="Hello from the README")
        _status(finished, "finished")
        stopped = _launch(page, "countdown", steps="40")
        _progress_at_least(page, stopped, 20)
        stopped.locator("button:has-text('Stop')").click()
        _status(stopped, "stopped")
        running = _launch(page, "countdown", steps=str(RUNNING_STEPS))
        _status(running, "started")
        _status(_launch(page, "countdown", steps="30"), "queued")
        _progress_at_least(page, running, RUNNING_AT)
    return JOBS_USER


def _dashboard_page(studio: Studio, page: Any) -> None:
    """The home page, once the busy dashboard's countdown is seen running there."""
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/")
    expect(page.locator("#job-list .job-card[data-status=started]")).to_have_count(1)
    expect(page.locator("#job-list .job-card[data-status=queued]")).to_have_count(1)


@shot("project")
def project(studio: Studio, path: Path) -> None:
    """A project made from a three-scene script, rendered: the player, paused on a frame.
    First, as the render needs the one worker, which busy_dashboard then keeps busy."""
    from playwright.sync_api import expect

    with studio.page(PROJECTS_USER) as page:
        page.goto(f"{studio.url}/")
        page.click("nav a:has-text('Projects')")
        expect(page.locator("#new h2")).to_have_text("New project")
        page.fill("#new input[name=title]", "Tides")
        page.fill("textarea[name=script_text]", SCRIPT)
        page.click("button:has-text('Create project')")
        expect(page.locator("h1")).to_have_text("Tides")
        page.click("button:has-text('Render video')")
        expect(page.locator("#output video")).to_be_visible(timeout=RENDER_TIMEOUT)
        _seek(page, "#output video")
        studio.capture(page, path)


def _seek(page: Any, selector: str) -> None:
    """Show a frame rather than the poster (the thumbnail): the middle of the first subtitle
    cue, so the burned-in subtitle shows too (or 30 % in, without cues), if this Chromium
    decodes the video; otherwise the poster stays."""
    page.evaluate("""async (selector) => {
      const video = document.querySelector(selector);
      const track = video.querySelector("track");
      const event = (target, name) => new Promise((done) => target.addEventListener(name, done,
        {once: true}));
      const timeout = new Promise((done) => setTimeout(done, 15000));
      if (track && track.readyState < 2) {
        const loaded = event(track, "load");
        track.track.mode = "hidden";  // a track that is not shown loads its cues then
        await Promise.race([loaded, timeout]);
      }
      if (video.readyState < 1) await Promise.race([event(video, "loadedmetadata"), timeout]);
      if (!video.duration || video.error) return;
      const cue = track?.track.cues?.[0];
      const seeked = event(video, "seeked");
      video.currentTime = cue ? (cue.startTime + cue.endTime) / 2 : video.duration * 0.3;
      await Promise.race([seeked, timeout]);
      if (video.readyState < 3) await Promise.race([event(video, "canplay"), timeout]);
    }""", selector)
    # The player's loading spinner fades out after the frame arrives; nothing in the page
    # tells when (it lives in Chromium's own shadow tree), so give it a moment.
    page.wait_for_timeout(1000)


@shot("dashboard")
def dashboard(studio: Studio, path: Path) -> None:
    """The home page on a desktop: a new video, live cards in five states, the project."""
    with studio.page(studio.scene(busy_dashboard)) as page:
        _dashboard_page(studio, page)
        studio.capture(page, path)


@shot("phone")
def phone(studio: Studio, path: Path) -> None:
    """The top of the home page on a phone."""
    with studio.page(studio.scene(busy_dashboard), PHONE, device_scale_factor=2,
                     is_mobile=True, has_touch=True) as page:
        _dashboard_page(studio, page)
        studio.capture(page, path)


@shot("console")
def console(studio: Studio, path: Path) -> None:
    """The operator console's jobs explorer, as an admin: every user's jobs, filtered to
    those that ended badly, with their errors."""
    from playwright.sync_api import expect

    studio.scene(busy_dashboard)
    with studio.page("ops@example.com", admin=True) as page:
        page.goto(f"{studio.url}/jobs?status=failed&status=stopped&status=finished")
        expect(page.locator("h1")).to_contain_text("Jobs")
        studio.capture(page, path, full_page=True)


@shot("dark")
def dark(studio: Studio, path: Path) -> None:
    """The dashboard shot in the dark colour scheme."""
    with studio.page(studio.scene(busy_dashboard)) as page:
        page.emulate_media(color_scheme="dark")
        _dashboard_page(studio, page)
        if not page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches"):
            raise Failure("Chromium did not take the dark colour scheme")
        studio.capture(page, path)


# --- Running it -----------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def take(names: list[str], out: Path) -> list[Path]:
    """Start the app and a browser, take the shots `names`, stop everything."""
    if not os.path.exists(CHROMIUM):
        raise Failure(f"No Chromium at {CHROMIUM} (apt-get install chromium, or set "
                      "CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    print("Starting Cutroom on fresh data (PostgreSQL, Redis, web, worker, reconciler)...")
    with Cutroom() as app, sync_playwright() as playwright:
        print(f"Running at {app.url}, data in {app.base} (removed at the end)")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        studio = Studio(app, browser)
        for name in names:
            path = out / f"{name}.png"
            started = time.monotonic()
            SHOTS[name](studio, path)
            print(f"  {_relative(path)}: {path.stat().st_size // 1024} KB "
                  f"({time.monotonic() - started:.0f} s)")
            written.append(path)
        print("Stopping everything...")
    return written


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots",
                                     description="Write the README's screenshots.")
    parser.add_argument("shots", nargs="*", metavar="SHOT",
                        help=f"which ones (default: all): {', '.join(SHOTS)}")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {_relative(OUT)}")
    args = parser.parse_args(argv)
    if unknown := set(args.shots) - set(SHOTS):
        parser.error(f"no such shot: {', '.join(sorted(unknown))} (there are {', '.join(SHOTS)})")
    for sig in STOP_SIGNALS[1:]:  # SIGINT raises KeyboardInterrupt already
        signal.signal(sig, _interrupt)
    try:
        written = take([name for name in SHOTS if name in args.shots or not args.shots],
                       args.out)
    except KeyboardInterrupt:
        print("screenshots: interrupted; everything it started is stopped.", file=sys.stderr)
        return 130
    except Exception as exc:  # any failure: say what and where, not a bare traceback
        print(f"screenshots: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {len(written)} screenshot(s) to {_relative(args.out)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
