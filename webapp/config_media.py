"""Media settings (webapp/storage/): MEDIA_STORAGE, the S3_* settings, this machine's
scratch folders and cache, and how files are served."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from webapp.config_values import ROOT, ConfigError, flag, int_value, size

MEDIA_STORAGES = ("local", "s3")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,40}")
S3_SETTINGS = ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_PREFIX", "S3_ACCESS_KEY_ID",
               "S3_SECRET_ACCESS_KEY")
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live


def media_settings(env: Mapping[str, str]) -> dict:
    """Where media lives (webapp/storage/): MEDIA_STORAGE, the S3_* settings, this machine's
    scratch folders and cache, and how files are served."""
    storage = env.get("MEDIA_STORAGE") or "local"
    if storage not in MEDIA_STORAGES:
        raise ConfigError(f"MEDIA_STORAGE must be local or s3, got {storage!r}")
    media_root = env.get("MEDIA_ROOT") or str(ROOT / "instance" / "media")
    redirect = flag(env, "MEDIA_REDIRECT")
    if redirect and storage != "s3":
        raise ConfigError("MEDIA_REDIRECT=1 needs MEDIA_STORAGE=s3: local storage has no URL "
                          "to send browsers to (unset MEDIA_REDIRECT to stream files)")
    return {
        "MEDIA_STORAGE": storage,
        "MEDIA_ROOT": media_root,
        "MEDIA_CACHE_DIR": env.get("MEDIA_CACHE_DIR") or str(Path(media_root) / "cache"),
        "MEDIA_CACHE_BYTES": size(env, "MEDIA_CACHE_BYTES", 2 << 30),
        "MEDIA_REDIRECT": redirect,
        "MEDIA_REDIRECT_TTL": _redirect_ttl(env),
        **(_s3(env) if storage == "s3" else dict.fromkeys(S3_SETTINGS)),
        **upload_settings(env),
    }


def upload_settings(env: Mapping[str, str]) -> dict:
    """How big, how large and how long uploaded pictures, clips and music may be
    (webapp/media/inspect.py), and how much one user may keep in all."""
    return {
        "MEDIA_IMAGE_BYTES": size(env, "MEDIA_IMAGE_BYTES", 20 << 20),
        "MEDIA_CLIP_BYTES": size(env, "MEDIA_CLIP_BYTES", 100 << 20),
        "MEDIA_MUSIC_BYTES": size(env, "MEDIA_MUSIC_BYTES", 20 << 20),
        "MEDIA_MAX_PIXELS": int_value(env, "MEDIA_MAX_PIXELS", 40_000_000, minimum=1),
        "MEDIA_CLIP_SECONDS": int_value(env, "MEDIA_CLIP_SECONDS", 60, minimum=1),
        "MEDIA_MUSIC_SECONDS": int_value(env, "MEDIA_MUSIC_SECONDS", 600, minimum=1),
        "MEDIA_USER_BYTES": size(env, "MEDIA_USER_BYTES", 2 << 30),
        "MEDIA_UPLOAD_RATE": _rate(env, "MEDIA_UPLOAD_RATE", "30 per 10 minutes"),
    }


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    from webapp.ratelimit import parse_limit

    value = (env.get(name) or default).strip()
    try:
        parse_limit(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '30 per 10 minutes', got "
                          f"{value!r}") from None
    return value


def _s3(env: Mapping[str, str]) -> dict:
    """S3_*: the bucket, where it is, and credentials (or boto3's usual AWS_* chain)."""
    bucket = env.get("S3_BUCKET") or None
    if bucket is None:
        raise ConfigError("S3_BUCKET is not set (MEDIA_STORAGE=s3 needs one; under `make dev` "
                          "leave S3_ENDPOINT_URL unset too for an embedded SeaweedFS).")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"S3_BUCKET must be a bucket name (3-63 of a-z 0-9 . -), got "
                          f"{bucket!r}")
    endpoint = env.get("S3_ENDPOINT_URL") or None
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError(f"S3_ENDPOINT_URL must be an http:// or https:// URL, got "
                              f"{endpoint!r}")
    region = (env.get("S3_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
              or "us-east-1")
    if not _REGION.fullmatch(region):
        raise ConfigError(f"S3_REGION must be a region name such as us-east-1 or auto, got "
                          f"{region!r}")
    key_id = env.get("S3_ACCESS_KEY_ID") or None
    secret = env.get("S3_SECRET_ACCESS_KEY") or None
    if (key_id is None) != (secret is None):
        raise ConfigError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both, "
                          "or neither to use the standard AWS variables")
    return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_REGION": region,
            "S3_PREFIX": _prefix(env.get("S3_PREFIX", "")), "S3_ACCESS_KEY_ID": key_id,
            "S3_SECRET_ACCESS_KEY": secret}


def _prefix(raw: str) -> str:
    """S3_PREFIX as `a/b/` (or empty): the part of the bucket that is Cutroom's."""
    segments = raw.strip().strip("/").split("/") if raw.strip("/ ") else []
    if any(s in ("", ".", "..") or s.startswith(".") or "\\" in s for s in segments):
        raise ConfigError(f"S3_PREFIX must be a path such as cutroom/media, got {raw!r}")
    return "".join(f"{s}/" for s in segments)


def _redirect_ttl(env: Mapping[str, str]) -> int:
    """Seconds a presigned URL lives (SigV4 allows a week at most)."""
    ttl = int_value(env, "MEDIA_REDIRECT_TTL", 300, minimum=1)
    if ttl > MAX_PRESIGN_SECONDS:
        raise ConfigError(f"MEDIA_REDIRECT_TTL must be at most {MAX_PRESIGN_SECONDS} (a week), "
                          f"got {ttl}")
    return ttl
