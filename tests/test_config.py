"""Configuration from the environment."""

import pytest
from sqlalchemy.pool import NullPool

from webapp.config import ConfigError, from_env, normalize_database_url
from webapp.redis_client import describe, master_options

BASE = {"DATABASE_URL": "postgresql://u:p@db:5432/app", "REDIS_URL": "redis://r:6379/0",
        "CUTROOM_ENV": "development"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u:p@h/d?sslmode=require", "postgresql+psycopg://u:p@h/d?sslmode=require"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ],
)
def test_database_url_forms_from_hosting_platforms(given, expected):
    assert normalize_database_url(given) == expected


def test_non_postgres_database_url_is_refused():
    with pytest.raises(ConfigError, match="PostgreSQL"):
        normalize_database_url("sqlite:///x.db")


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_missing_service_url_names_the_variable(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        from_env(env)


def test_numbers_are_parsed_and_checked():
    config = from_env({**BASE, "JOBS_PER_PAGE": "7", "PROGRESS_INTERVAL": "0.5"})
    assert config["JOBS_PER_PAGE"] == 7
    assert config["PROGRESS_INTERVAL"] == 0.5
    with pytest.raises(ConfigError, match="JOBS_PER_PAGE must be an integer"):
        from_env({**BASE, "JOBS_PER_PAGE": "many"})
    with pytest.raises(ConfigError, match="JOBS_PER_PAGE must be at least 1"):
        from_env({**BASE, "JOBS_PER_PAGE": "0"})


def test_production_refuses_the_development_secret_key():
    production = {**BASE, "CUTROOM_ENV": "production"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_env(production)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_env({**production, "SECRET_KEY": "short"})
    config = from_env({**production, "SECRET_KEY": "x" * 40})
    assert config["SECRET_KEY"] == "x" * 40 and config["CUTROOM_ENV"] == "production"
    with pytest.raises(ConfigError, match="CUTROOM_ENV"):
        from_env({**BASE, "CUTROOM_ENV": "staging"})


def test_a_worker_redis_timeout_leaves_room_for_rqs_blocking_dequeue():
    assert from_env(BASE)["WORKER_REDIS_TIMEOUT"] == 20
    assert from_env({**BASE, "WORKER_REDIS_TIMEOUT": "30"})["WORKER_REDIS_TIMEOUT"] == 30
    with pytest.raises(ConfigError, match="WORKER_REDIS_TIMEOUT must be at least 15"):
        from_env({**BASE, "WORKER_REDIS_TIMEOUT": "5"})


def test_sign_in_limits_are_rates_checked_at_start():
    config = from_env({**BASE, "LOGIN_LIMIT_PAIR": "3 per 10 minutes"})
    assert config["LOGIN_LIMIT_PAIR"] == "3 per 10 minutes"
    assert config["LOGIN_SLOWDOWN"] == "1 per 5 seconds"
    with pytest.raises(ConfigError, match="LOGIN_SLOWDOWN must be a rate"):
        from_env({**BASE, "LOGIN_SLOWDOWN": "slowly"})


SENTINELS = {"DATABASE_URL": BASE["DATABASE_URL"], "CUTROOM_ENV": "development",
             "REDIS_SENTINELS": "s1:26379, [::1]:26380", "REDIS_SENTINEL_MASTER": "cutroom"}


def test_redis_sentinels_replace_the_redis_url():
    config = from_env(SENTINELS)
    assert config["REDIS_SENTINELS"] == (("s1", 26379), ("::1", 26380))
    assert (config["REDIS_SENTINEL_MASTER"], config["REDIS_URL"]) == ("cutroom", None)
    assert from_env(BASE)["REDIS_SENTINELS"] == ()
    with_url = from_env({**SENTINELS, "REDIS_URL": "rediss://:pw@ignored/3",
                         "REDIS_SENTINEL_PASSWORD": "s3cret"})
    assert with_url["REDIS_SENTINEL_PASSWORD"] == "s3cret"
    assert master_options(with_url["REDIS_URL"]) == {"password": "pw", "db": 3, "ssl": True}
    assert describe(with_url) == "redis+sentinel://s1:26379,[::1]:26380/cutroom/3"


@pytest.mark.parametrize("bad", ["s1", "s1:port", "s1:26379,", ":26379", "s1:0", "s1:70000"])
def test_a_malformed_sentinel_list_names_the_variable(bad):
    with pytest.raises(ConfigError, match="REDIS_SENTINELS must be a comma-separated list"):
        from_env({**SENTINELS, "REDIS_SENTINELS": bad})


def test_sentinels_and_their_master_go_together():
    with pytest.raises(ConfigError, match="REDIS_SENTINEL_MASTER is not"):
        from_env({**SENTINELS, "REDIS_SENTINEL_MASTER": ""})
    with pytest.raises(ConfigError, match="REDIS_SENTINELS is not"):
        from_env({**BASE, "REDIS_SENTINEL_MASTER": "cutroom"})
    with pytest.raises(ConfigError, match="redis:// or rediss://"):
        from_env({**SENTINELS, "REDIS_URL": "unix:///tmp/redis.sock"})


def test_an_external_pooler_gets_no_client_pool_prepared_statements_or_startup_options():
    internal = from_env(BASE)
    assert internal["DATABASE_POOL"] == "internal"
    options = internal["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 5
    assert options["connect_args"]["options"] == "-c statement_timeout=5000"
    external = from_env({**BASE, "DATABASE_POOL": "external"})
    options = external["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["poolclass"] is NullPool and "pool_size" not in options
    assert options["connect_args"]["prepare_threshold"] is None
    assert "options" not in options["connect_args"]  # PgBouncer refuses it; SET LOCAL instead
    assert external["DATABASE_STATEMENT_TIMEOUT"] == 5.0
    with pytest.raises(ConfigError, match="DATABASE_POOL must be internal or external"):
        from_env({**BASE, "DATABASE_POOL": "pgbouncer"})
