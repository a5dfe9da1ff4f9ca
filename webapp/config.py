"""Configuration read from environment variables, parsed once in the app factory.

Every variable here is documented in the README. Development defaults are safe to run
locally; `make dev` fills in DATABASE_URL and REDIS_URL for the embedded services.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from webapp.config_media import media_settings
from webapp.config_stock import stock_config
from webapp.config_values import ROOT, ConfigError, float_value, int_value
from webapp.database import POOLS, engine_options
from webapp.ratelimit import parse_limit

__all__ = ["ROOT", "ConfigError", "from_env", "media_settings", "normalize_database_url"]
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


def normalize_database_url(url: str) -> str:
    """Accept the postgres:// and postgresql:// forms that hosting platforms hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ConfigError(
        "DATABASE_URL must be a PostgreSQL URL (postgres://, postgresql:// or "
        f"postgresql+psycopg://), got {url.split(':', 1)[0]}://..."
    )


ENVIRONMENTS = ("production", "development", "testing")


def _secret_key(env: Mapping[str, str], environment: str) -> str:
    """SECRET_KEY; in production it must be set, long, and not the development key."""
    key = env.get("SECRET_KEY") or DEV_SECRET_KEY
    if environment == "production" and (key == DEV_SECRET_KEY or len(key) < 32):
        raise ConfigError(
            "Refusing to start in production without a real SECRET_KEY: set it to a random "
            "string of 32+ characters, e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'` (or set CUTROOM_ENV=development locally).")
    return key


def from_env(env: Mapping[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    environment = env.get("CUTROOM_ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"CUTROOM_ENV must be one of {', '.join(ENVIRONMENTS)}")
    database_url = env.get("DATABASE_URL")
    if not database_url:
        raise ConfigError("DATABASE_URL is not set (`make dev` starts an embedded PostgreSQL).")
    return {
        "CUTROOM_ENV": environment,
        "SECRET_KEY": _secret_key(env, environment),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        **_database(env),
        **_redis(env),
        "MAX_CONTENT_LENGTH": int_value(env, "MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024),
        "JOBS_PER_PAGE": int_value(env, "JOBS_PER_PAGE", 20, minimum=1),
        # The jobs explorer counts matching jobs exactly up to this, then says "10,000+".
        "EXPLORER_COUNT_CAP": int_value(env, "EXPLORER_COUNT_CAP", 10_000, minimum=1),
        "JOB_RESULT_TTL": int_value(env, "JOB_RESULT_TTL", 24 * 3600),
        "JOB_FAILURE_TTL": int_value(env, "JOB_FAILURE_TTL", 7 * 24 * 3600),
        "PROGRESS_INTERVAL": float_value(env, "PROGRESS_INTERVAL", 1.0),
        "WORKER_HEARTBEAT_INTERVAL": int_value(env, "WORKER_HEARTBEAT_INTERVAL", 10, minimum=1),
        "WORKER_SHUTDOWN_GRACE": float_value(env, "WORKER_SHUTDOWN_GRACE", 20.0),
        "TRIGGER_TEST_DELAY": float_value(env, "TRIGGER_TEST_DELAY", 1.0),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "TASK_TIMEOUTS": _timeouts(env.get("TASK_TIMEOUTS", "")),
        **_reliability(env),
        **_worker(env),
        **_quotas(env),
        **_security(env),
        **_sign_in(env),
        **_video(env),
        **media_settings(env),
        **stock_config(env),
    }


def _database(env: Mapping[str, str]) -> dict:
    """Pool and timeouts: no request waits on PostgreSQL for more than a few seconds."""
    statement_timeout = float_value(env, "DATABASE_STATEMENT_TIMEOUT", 5.0)
    pool = env.get("DATABASE_POOL") or "internal"
    if pool not in POOLS:
        raise ConfigError(f"DATABASE_POOL must be internal or external (a pooler such as "
                          f"PgBouncer in transaction mode), got {pool!r}")
    return {
        "DATABASE_POOL": pool,
        "DATABASE_STATEMENT_TIMEOUT": statement_timeout,
        "READY_TIMEOUT": float_value(env, "READY_TIMEOUT", 2.0),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(
            connect_timeout=float_value(env, "DATABASE_CONNECT_TIMEOUT", 5.0),
            statement_timeout=statement_timeout,
            pool_size=int_value(env, "DATABASE_POOL_SIZE", 5, minimum=1),
            pool_timeout=float_value(env, "DATABASE_POOL_TIMEOUT", 5.0),
            pool=pool,
        ),
    }


def _redis(env: Mapping[str, str]) -> dict:
    """Where Redis is: REDIS_URL, or the master the sentinels of REDIS_SENTINELS name
    (webapp/redis_client.py)."""
    url = env.get("REDIS_URL") or None
    raw = env.get("REDIS_SENTINELS", "").strip()
    master = env.get("REDIS_SENTINEL_MASTER", "").strip() or None
    if not raw:
        if master:
            raise ConfigError("REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not: list "
                              "the sentinels as host:port,host:port.")
        if not url:
            raise ConfigError("REDIS_URL is not set (`make dev` starts an embedded Redis).")
        return {"REDIS_URL": url, "REDIS_SENTINELS": (), "REDIS_SENTINEL_MASTER": None,
                "REDIS_SENTINEL_PASSWORD": None}
    if not master:
        raise ConfigError("REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not: name the "
                          "master the sentinels monitor (`sentinel monitor NAME ...`).")
    if url and not url.startswith(("redis://", "rediss://")):
        raise ConfigError("With REDIS_SENTINELS, REDIS_URL only gives the password, database "
                          "number and TLS: a redis:// or rediss:// URL, got "
                          f"{url.split(':', 1)[0]}://...")
    return {"REDIS_URL": url,
            "REDIS_SENTINELS": tuple(_host_port(item) for item in raw.split(",")),
            "REDIS_SENTINEL_MASTER": master,
            "REDIS_SENTINEL_PASSWORD": env.get("REDIS_SENTINEL_PASSWORD") or None}


def _host_port(item: str) -> tuple[str, int]:
    """'host:port' or '[::1]:port' as (host, port)."""
    host, _, port = item.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("REDIS_SENTINELS must be a comma-separated list of host:port "
                          f"(26379 is the usual port), got {item.strip()!r}")
    return host, int(port)


def _timeouts(raw: str) -> dict[str, int]:
    """TASK_TIMEOUTS="assemble-video=1800,narrate=600": per-task limits in seconds."""
    timeouts = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, seconds = item.partition("=")
        if not seconds.strip().isdigit() or int(seconds) < 1:
            raise ConfigError(f"TASK_TIMEOUTS entries look like task-name=SECONDS, got {item!r}")
        timeouts[name.strip()] = int(seconds)
    return timeouts


def _security(env: Mapping[str, str]) -> dict:
    """Cookies, sessions, CSRF and proxies."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure is also set per request whenever it arrives over HTTPS (security.py).
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "") == "1",
        "PERMANENT_SESSION_LIFETIME": int_value(env, "SESSION_HOURS", 12, minimum=1) * 3600,
        "WTF_CSRF_CHECK_DEFAULT": False,  # security.py checks, skipping bearer API calls
        "WTF_CSRF_TIME_LIMIT": None,  # a token lives as long as the session
        "TRUSTED_PROXIES": int_value(env, "TRUSTED_PROXIES", 0),
        "MAX_JSON_DEPTH": int_value(env, "MAX_JSON_DEPTH", 20, minimum=2),
        "METRICS_TOKEN": _metrics_token(env),
    }


def _metrics_token(env: Mapping[str, str]) -> str | None:
    """The bearer token Prometheus sends to /metrics; unset, /metrics answers 404."""
    token = env.get("METRICS_TOKEN", "").strip() or None
    if token is not None and (len(token) < 16 or not token.isascii() or " " in token):
        raise ConfigError("METRICS_TOKEN must be 16+ printable ASCII characters without "
                          "spaces, e.g. `python -c 'import secrets; "
                          "print(secrets.token_urlsafe(32))'`")
    return token


def _quotas(env: Mapping[str, str]) -> dict:
    """Default per-user limits (webapp/quotas.py); admins can change them per user."""
    return {
        "USER_MAX_RUNNING": int_value(env, "USER_MAX_RUNNING", 2, minimum=1),
        "USER_MAX_WAITING": int_value(env, "USER_MAX_WAITING", 100, minimum=0),
        "USER_SUBMIT_RATE": _rate(env, "USER_SUBMIT_RATE", "60 per minute"),
        "USER_MAX_PROJECTS": int_value(env, "USER_MAX_PROJECTS", 100, minimum=0),
        "USER_MAX_RENDER_SECONDS": int_value(env, "USER_MAX_RENDER_SECONDS", 600, minimum=1),
    }


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate in the `limits` notation ("5 per 15 minutes", "1 per 5 seconds")."""
    value = env.get(name) or default
    try:
        parse_limit(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '5 per 15 minutes', got {value!r}"
                          ) from None
    return value


def _sign_in(env: Mapping[str, str]) -> dict:
    """Sign-in throttling (webapp/auth/throttle.py) and the trusted-device cookie."""
    return {
        "LOGIN_LIMIT_PAIR": _rate(env, "LOGIN_LIMIT_PAIR", "5 per 15 minutes"),
        "LOGIN_LIMIT_ADDRESS": _rate(env, "LOGIN_LIMIT_ADDRESS", "30 per 15 minutes"),
        "LOGIN_SLOWDOWN_AFTER": _rate(env, "LOGIN_SLOWDOWN_AFTER", "10 per 15 minutes"),
        "LOGIN_SLOWDOWN": _rate(env, "LOGIN_SLOWDOWN", "1 per 5 seconds"),
        "TRUSTED_DEVICE_DAYS": int_value(env, "TRUSTED_DEVICE_DAYS", 90, minimum=1),
    }


def _reliability(env: Mapping[str, str]) -> dict:
    """The reconciler's schedule and thresholds, and how long rows are kept."""
    heartbeat = int_value(env, "WORKER_HEARTBEAT_INTERVAL", 10, minimum=1)
    return {
        "RECONCILE_INTERVAL": float_value(env, "RECONCILE_INTERVAL", 30.0),
        "RECOVER_AFTER": float_value(env, "RECOVER_AFTER", 60.0),
        "HEARTBEAT_GRACE": float_value(env, "HEARTBEAT_GRACE", 3.0 * heartbeat + 10),
        "CANCEL_CONFIRM_TIMEOUT": float_value(env, "CANCEL_CONFIRM_TIMEOUT", 30.0),
        "RETAIN_DAYS": int_value(env, "RETAIN_DAYS", 30, minimum=1),
        "RETAIN_FAILED_DAYS": int_value(env, "RETAIN_FAILED_DAYS", 90, minimum=1),
        "IDEMPOTENCY_TTL_HOURS": int_value(env, "IDEMPOTENCY_TTL_HOURS", 24, minimum=1),
    }


def _worker(env: Mapping[str, str]) -> dict:
    """How a worker talks to Redis."""
    return {
        # The longest any Redis call of a worker may take; its blocking dequeue waits 10 s
        # less (RQ needs that margin), so it cannot be below 15.
        "WORKER_REDIS_TIMEOUT": int_value(env, "WORKER_REDIS_TIMEOUT", 20, minimum=15),
    }


def _video(env: Mapping[str, str]) -> dict:
    """Settings of the video pipeline: providers and input limits."""
    return {
        "SCRIPT_PROVIDER": env.get("SCRIPT_PROVIDER", "template"),
        "DEFAULT_VOICE": env.get("DEFAULT_VOICE", "piper:joe"),
        "OPENAI_BASE_URL": env.get("OPENAI_BASE_URL") or None,
        "OPENAI_API_KEY": env.get("OPENAI_API_KEY") or None,
        "OPENAI_SCRIPT_MODEL": env.get("OPENAI_SCRIPT_MODEL", "gpt-4o-mini"),
        "OPENAI_TTS_MODEL": env.get("OPENAI_TTS_MODEL", "tts-1"),
        "PIPER_MODEL": env.get("PIPER_MODEL") or None,
        "ESPEAK_BINARY": env.get("ESPEAK_BINARY", "espeak-ng"),
        "PROVIDER_HTTP_TIMEOUT": float_value(env, "PROVIDER_HTTP_TIMEOUT", 60.0),
        "MAX_SCENES": int_value(env, "MAX_SCENES", 30, minimum=1),
        "MAX_SCENE_CHARS": int_value(env, "MAX_SCENE_CHARS", 1200, minimum=10),
        "MAX_SCRIPT_CHARS": int_value(env, "MAX_SCRIPT_CHARS", 12000, minimum=10),
        "MAX_HEADING_CHARS": int_value(env, "MAX_HEADING_CHARS", 120, minimum=10),
    }
