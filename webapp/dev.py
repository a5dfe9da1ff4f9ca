"""`make dev`: start what is missing, migrate, make a first admin, then run web and worker.

When DATABASE_URL / REDIS_URL are unset (in the environment and in .env), an embedded
PostgreSQL and Redis start with their data under instance/, so a restart keeps it; they
stop again when you press Ctrl+C. Media stays on local disk unless MEDIA_STORAGE=s3: then,
without S3_ENDPOINT_URL, an embedded SeaweedFS serves S3 from instance/seaweedfs/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dotenv import load_dotenv

from webapp.config import ROOT
from webapp.devservices import ensure_database, start_postgres, start_redis, start_seaweedfs

DEFAULT_BIND = "127.0.0.1:5000"


def _bin(name: str) -> str:
    """A console script installed next to this Python (the virtual environment's bin/)."""
    return str(Path(sys.executable).parent / name)


def _start_services(env: dict[str, str], instance: Path) -> list:
    services = []
    if not env.get("DATABASE_URL"):
        postgres = start_postgres(instance / "postgres")
        ensure_database(postgres.admin_url, "cutroom")
        env["DATABASE_URL"] = postgres.url_for("cutroom")
        services.append(postgres)
        print(f"Embedded PostgreSQL: data in {postgres.data_dir}")
    if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
        redis = start_redis(instance / "redis")
        env["REDIS_URL"] = redis.url
        services.append(redis)
        print(f"Embedded Redis: {redis.url}")
    if env.get("MEDIA_STORAGE") == "s3" and not env.get("S3_ENDPOINT_URL"):
        s3 = start_seaweedfs(instance / "seaweedfs", bucket=env.get("S3_BUCKET") or "cutroom-media")
        env.update(s3.env())
        services.append(s3)
        print(f"Embedded SeaweedFS (S3): {s3.endpoint_url}, bucket {s3.bucket}, data in "
              f"{s3.data_dir}")
    return services


def main() -> int:
    load_dotenv(ROOT / ".env", override=False)
    env = dict(os.environ)
    # Console scripts (gunicorn, flask) come from this virtual environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("BIND", DEFAULT_BIND)
    env.setdefault("CUTROOM_ENV", "development")
    # honcho kills what is still running 5 s after Ctrl+C; a job still running after 3 s
    # goes back to the queue and runs again on the next start.
    env.setdefault("WORKER_SHUTDOWN_GRACE", "3")
    services = _start_services(env, ROOT / "instance")
    if services:
        print("To run flask commands against these services from another shell:")
        # REDIS_URL is unset when REDIS_SENTINELS is.
        names = ["DATABASE_URL", "REDIS_URL"]
        if env.get("MEDIA_STORAGE") == "s3":
            names += ["MEDIA_STORAGE", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_ACCESS_KEY_ID",
                      "S3_SECRET_ACCESS_KEY"]
        print("  export " + " ".join(f"{name}='{env[name]}'" for name in names if env.get(name)))
    flask = [_bin("flask"), "--app", "wsgi"]
    try:
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True)
        subprocess.run([*flask, "users", "bootstrap-admin", "--url", f"http://{env['BIND']}"],
                       env=env, cwd=ROOT, check=True)
        honcho = subprocess.Popen([_bin("honcho"), "start", "-f", "Procfile", "web", "worker",
                                   "reconciler"],
                                  env=env, cwd=ROOT)
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # Ctrl+C reached honcho too; let it stop web and worker before the services go.
            return honcho.wait()
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
