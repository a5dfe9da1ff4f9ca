"""`make dev`: start what is missing, migrate, make a first admin, then run web, worker and
reconciler until Ctrl+C. `make shell` (`python -m webapp.dev shell [COMMAND...]`): a shell,
or one command, with the settings of the `make dev` that runs.

When DATABASE_URL / REDIS_URL are unset (in the environment and in .env), an embedded
PostgreSQL and Redis start with their data under instance/ (or CUTROOM_INSTANCE_DIR), so a
restart keeps it. Media stays on local disk unless MEDIA_STORAGE=s3: then, without
S3_ENDPOINT_URL, an embedded SeaweedFS serves S3 from instance/seaweedfs/.

Ctrl+C (or SIGTERM, or SIGHUP) stops everything in order: the worker first, which gives its
running job WORKER_SHUTDOWN_GRACE seconds and otherwise puts it back in the queue; then web
and reconciler; then the embedded services. Every process started here runs in a session of
its own, so the terminal's SIGINT reaches only this one.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from webapp.config import ROOT
from webapp.devservices import ensure_database, start_postgres, start_redis, start_seaweedfs
from webapp.devsupervisor import Stopped, Supervisor, read_procfile

DEFAULT_BIND = "127.0.0.1:5000"
ENV_FILE = "dev.env"
# Settings `make dev` chooses, or that point at its services: another shell needs them
# to reach the same instance (values that come from .env are left out: the app reads it).
SHARED_SETTINGS = ("CUTROOM_ENV", "CUTROOM_URL", "BIND", "DATABASE_URL", "REDIS_URL",
                   "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "MEDIA_ROOT", "MEDIA_STORAGE",
                   "S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID",
                   "S3_SECRET_ACCESS_KEY", "WORKER_SHUTDOWN_GRACE")
PROCESSES = ("web", "worker", "reconciler")
# Seconds a worker may take beyond its grace period (putting its job back, stopping its
# scheduler), and what web and reconciler get, before they are killed.
WORKER_STOP_MARGIN = 15
STOP_TIMEOUT = 10


class StopRequest:
    """SIGINT, SIGTERM or SIGHUP, recorded (a handler that printed could break into a line
    being written); later ones change nothing but say so."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: str | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.event.is_set():  # os.write: safe here, unlike print
            os.write(sys.stdout.fileno(), b"Still stopping, in order; it will not be long.\n")
            return
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def __bool__(self) -> bool:
        return self.event.is_set()


def instance_dir() -> Path:
    """Where the embedded services keep their data: CUTROOM_INSTANCE_DIR (from the
    environment or .env) or instance/."""
    name = "CUTROOM_INSTANCE_DIR"
    chosen = os.environ.get(name) or dotenv_values(ROOT / ".env").get(name)
    return Path(chosen or ROOT / "instance").resolve()


def _bin(name: str) -> str:
    """A console script installed next to this Python (the virtual environment's bin/)."""
    return str(Path(sys.executable).parent / name)


def _with_venv_path(env: dict[str, str]) -> dict[str, str]:
    """Console scripts (gunicorn, flask) come from this virtual environment."""
    return {**env, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                            env.get("PATH", "")])}


def _url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '', '[::]') else host}:{port}"


def _start_services(env: dict[str, str], instance: Path, services: list) -> None:
    """Start what is not configured, appending each to `services` as soon as it runs."""
    if not env.get("DATABASE_URL"):
        postgres = start_postgres(instance / "postgres")
        services.append(postgres)
        ensure_database(postgres.admin_url, "cutroom")
        env["DATABASE_URL"] = postgres.url_for("cutroom")
        print(f"Embedded PostgreSQL: data in {postgres.data_dir}")
    if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
        redis = start_redis(instance / "redis")
        services.append(redis)
        env["REDIS_URL"] = redis.url
        print(f"Embedded Redis: {redis.url}")
    if env.get("MEDIA_STORAGE") == "s3" and not env.get("S3_ENDPOINT_URL"):
        s3 = start_seaweedfs(instance / "seaweedfs", bucket=env.get("S3_BUCKET") or "cutroom-media")
        services.append(s3)
        env.update(s3.env())
        print(f"Embedded SeaweedFS (S3): {s3.endpoint_url}, bucket {s3.bucket}, data in "
              f"{s3.data_dir}")


def _share_settings(env: dict[str, str], instance: Path) -> Path:
    """Write the settings another shell needs to instance/dev.env and print them."""
    from_dotenv = dotenv_values(ROOT / ".env")
    shared = {name: env[name] for name in SHARED_SETTINGS
              if env.get(name) and from_dotenv.get(name) != env[name]}
    path = instance / ENV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # it may hold the embedded S3's secret key
    path.write_text("# The settings of the `make dev` running now (removed when it stops),\n"
                    "# for another shell: `make shell`, or source this file there.\n"
                    + "".join(f"export {name}={shlex.quote(value)}\n"
                              for name, value in shared.items()))
    print("For flask commands in another shell, run `make shell` there, or paste:")
    print("  export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in shared.items()))
    print(f"(also in {path}: `. {_relative(path)}`)")
    return path


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_settings(path: Path) -> dict[str, str]:
    """The settings in a dev.env file that _share_settings wrote."""
    settings = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export":
            name, _, value = words[1].partition("=")
            settings[name] = value
    return settings


def shell(command: list[str]) -> int:
    """`make shell`: $SHELL, or `command`, with the running `make dev`'s settings and this
    virtual environment's bin/ first on PATH."""
    path = instance_dir() / ENV_FILE
    try:
        settings = read_settings(path)
    except FileNotFoundError:
        print(f"No {path}: `make dev` is not running. Start it (in another shell) first.",
              file=sys.stderr)
        return 1
    env = _with_venv_path({**os.environ, **settings})
    argv = command or [os.environ.get("SHELL") or "/bin/sh"]
    if not command:
        print(f"A shell with make dev's settings ({', '.join(settings)}); `exit` leaves it.")
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        print(f"No such command: {argv[0]}", file=sys.stderr)
        return 127


def _prepare(env: dict[str, str]) -> None:
    """Migrate and make the first admin (in their own sessions, like everything else)."""
    flask = [_bin("flask"), "--app", "wsgi"]
    for args in (["db", "upgrade"],
                 ["users", "bootstrap-admin", "--url", env["CUTROOM_URL"]]):
        subprocess.run([*flask, *args], env=env, cwd=ROOT, check=True, start_new_session=True)


def _run(env: dict[str, str], stop: StopRequest, supervisor: Supervisor) -> int:
    """Run the Procfile's processes until a stop request or until one of them ends; then
    stop the workers, then the others. The exit status: 0 if all stopped cleanly."""
    procfile = read_procfile(ROOT / "Procfile")
    supervisor.start({name: procfile[name] for name in PROCESSES})
    ended = supervisor.wait(stop.event)
    if ended is None:
        grace = float(env["WORKER_SHUTDOWN_GRACE"])
        supervisor.say(f"{_describe(stop.signal_name)}: stopping the worker (a running job has "
                       f"{grace:g} s to finish, or goes back to the queue), then the others")
    else:
        supervisor.say(f"{ended.name} exited with status {ended.process.returncode}; "
                       "stopping the others")
    workers = [name for name in PROCESSES if name.startswith("worker")]
    others = [name for name in PROCESSES if name not in workers]
    clean = ended is None
    for names, timeout in ((workers, float(env["WORKER_SHUTDOWN_GRACE"]) + WORKER_STOP_MARGIN),
                           (others, STOP_TIMEOUT)):
        started = time.monotonic()
        results = supervisor.stop(names, timeout)
        supervisor.say(_report(results, time.monotonic() - started))
        clean = clean and all(r.returncode == 0 and not r.killed for r in results)
    if clean:
        return 0
    code = ended.process.returncode if ended else 1
    return code if code > 0 else 1


def _describe(signal_name: str | None) -> str:
    return "Ctrl+C" if signal_name == "SIGINT" else signal_name or "Stop"


def _report(results: list[Stopped], seconds: float) -> str:
    """'worker stopped (3.2 s)', or what went wrong."""
    trouble = [f"{r.name} killed (did not stop in time)" if r.killed
               else f"{r.name} exited with status {r.returncode}"
               for r in results if r.killed or r.returncode != 0]
    names = " and ".join(r.name for r in results)
    return f"{names} stopped ({seconds:.1f} s)" + (f": {'; '.join(trouble)}" if trouble else "")


def _stop_services(services: list, say) -> None:
    names = {"Postgres": "PostgreSQL", "RedisServer": "Redis", "SeaweedFS": "SeaweedFS"}
    for service in reversed(services):
        started = time.monotonic()
        service.stop()
        say(f"{names.get(type(service).__name__, type(service).__name__)} stopped "
            f"({time.monotonic() - started:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["shell"]:
        return shell(argv[1:])
    stop = StopRequest()
    stop.install()
    load_dotenv(ROOT / ".env", override=False)
    instance = instance_dir()
    env = _with_venv_path(dict(os.environ))
    env.setdefault("BIND", DEFAULT_BIND)
    env.setdefault("CUTROOM_ENV", "development")
    env.setdefault("CUTROOM_URL", _url(env["BIND"]))
    env.setdefault("MEDIA_ROOT", str(instance / "media"))
    # A job still running 3 s after Ctrl+C goes back to the queue and runs again next time.
    env.setdefault("WORKER_SHUTDOWN_GRACE", "3")
    env["PYTHONUNBUFFERED"] = "1"  # output line by line, as it happens
    services: list = []
    supervisor = Supervisor(env, ROOT)
    env_file = None
    try:
        _start_services(env, instance, services)
        env_file = _share_settings(env, instance)
        if not stop:
            _prepare(env)
        if stop:
            supervisor.say(f"{_describe(stop.signal_name)} while starting: stopping")
            return 0
        return _run(env, stop, supervisor)
    except subprocess.CalledProcessError as exc:
        # A step failed (it said why), or Ctrl+C came while pgserver's pg_ctl ran.
        return 0 if stop else max(exc.returncode, 1)
    finally:
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        _stop_services(services, supervisor.say)


if __name__ == "__main__":
    sys.exit(main())
